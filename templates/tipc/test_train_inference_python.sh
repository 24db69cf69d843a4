#!/bin/bash
# TIPC "Linux GPU/CPU basic train-inference" runner.
#
#   bash test_tipc/test_train_inference_python.sh test_tipc/configs/<model_name>/train_infer_python.txt MODE
#
# MODE: lite_train_lite_infer | lite_train_whole_infer | whole_train_whole_infer | whole_infer.
# Run from the repository root. See test_tipc/docs/test_train_inference_python.md.

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common_func.sh
source "${script_dir}/common_func.sh"

FILENAME=$1
MODE=$2

if [ $# -lt 2 ]; then
    echo "usage: bash test_tipc/test_train_inference_python.sh CONFIG MODE" >&2
    exit 1
fi
case "$MODE" in
    lite_train_lite_infer | lite_train_whole_infer | whole_train_whole_infer | whole_infer) ;;
    *)
        echo "unknown mode '${MODE}': use lite_train_lite_infer, lite_train_whole_infer," \
            "whole_train_whole_infer or whole_infer" >&2
        exit 1
        ;;
esac
func_read_config "$FILENAME"  # the array `lines`: line N of the config is lines[N-1]

# train_params
model_name=$(func_parser_value "${lines[1]}")
python=$(func_parser_value "${lines[2]}")
gpu_list=$(func_parser_value "${lines[3]}")
device_key=$(func_parser_key "${lines[4]}")
device_value=$(func_parser_value "${lines[4]}")
epoch_key=$(func_parser_key "${lines[5]}")
epoch_value=$(func_parser_value_by_mode "${lines[5]}" "$MODE")
save_model_key=$(func_parser_key "${lines[6]}")
train_batch_key=$(func_parser_key "${lines[7]}")
train_batch_value=$(func_parser_value_by_mode "${lines[7]}" "$MODE")
pretrain_model_key=$(func_parser_key "${lines[8]}")
pretrain_model_value=$(func_parser_value "${lines[8]}")
train_model_name=$(func_parser_value "${lines[9]}")
data_key=$(func_parser_key "${lines[10]}")
data_value=$(func_parser_value_by_mode "${lines[10]}" "$MODE")
norm_train=$(func_parser_value "${lines[13]}")
# eval_params
eval_py=$(func_parser_value "${lines[16]}")
# infer_params
save_infer_key=$(func_parser_key "${lines[19]}")
save_infer_dir=$(func_parser_value "${lines[19]}")
export_weight_key=$(func_parser_key "${lines[20]}")
norm_export=$(func_parser_value "${lines[21]}")
infer_model=$(func_parser_value "${lines[23]}")
infer_export=$(func_parser_value "${lines[24]}")
inference_py=$(func_parser_value "${lines[26]}")
use_gpu_key=$(func_parser_key "${lines[27]}")
use_gpu_value=$(func_parser_value "${lines[27]}")
infer_batch_key=$(func_parser_key "${lines[28]}")
infer_batch_value=$(func_parser_value "${lines[28]}")
infer_model_key=$(func_parser_key "${lines[29]}")
infer_model_value=$(func_parser_value "${lines[29]}")
image_key=$(func_parser_key "${lines[30]}")
image_value=$(func_parser_value "${lines[30]}")
benchmark_key=$(func_parser_key "${lines[31]}")
benchmark_value=$(func_parser_value "${lines[31]}")

# lite_train_whole_infer trains on the lite data, so a config that only spells out the lite values
# should not silently fall back to the program's full-size defaults (90 epochs on a tiny set).
if [ "$MODE" = "lite_train_whole_infer" ]; then
    [ -z "$epoch_value" ] && epoch_value=$(func_parser_value_by_mode "${lines[5]}" lite_train_lite_infer)
    [ -z "$train_batch_value" ] && train_batch_value=$(func_parser_value_by_mode "${lines[7]}" lite_train_lite_infer)
    [ -z "$data_value" ] && data_value=$(func_parser_value_by_mode "${lines[10]}" lite_train_lite_infer)
fi

# Line 5 is `<flag>:<value on a GPU>|<value on the CPU>`; a single value serves both.
gpu_device_value=${device_value%%|*}
case "$device_value" in
    *'|'*) cpu_device_value=${device_value#*|} ;;
    *) cpu_device_value=$device_value ;;
esac

LOG_PATH="./test_tipc/output/${model_name}/${MODE}"
mkdir -p "$LOG_PATH"
status_log="${LOG_PATH}/results_python.log"

# A CPU-only Paddle, a missing Paddle or a broken driver all mean "no GPU here": count 0 on any error.
if [ "${TIPC_DEVICE:-}" = "cpu" ]; then
    gpu_count=0
else
    gpu_count=$(eval "${python} -c 'import paddle; print(paddle.device.cuda.device_count())'" 2>/dev/null | tail -n 1)
    case "$gpu_count" in
        '' | *[!0-9]*) gpu_count=0 ;;
    esac
fi
echo "TIPC: model ${model_name}, mode ${MODE}, ${gpu_count} GPU(s) visible to Paddle, logs in ${LOG_PATH}"

# join_cmd WORD...: the words that are not empty, one space apart. A dropped (null) flag must not leave a
# double space behind: paddle-port matches commands by their exact text.
function join_cmd() {
    local word out=""
    for word in "$@"; do
        [ -z "$word" ] && continue
        out="${out:+${out} }${word}"
    done
    printf '%s\n' "$out"
}

# run_command STAGE COMMAND LOG_FILE: the command's output goes both to the terminal and to its own log.
function run_command() {
    local stage=$1 cmd=$2 log_file=$3
    local start end seconds status
    echo "+ ${cmd}"
    start=$(date +%s.%N)
    eval "$cmd" 2>&1 | tee "$log_file"
    status=${PIPESTATUS[0]}
    end=$(date +%s.%N)
    seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
    status_check "$status" "$stage" "$cmd" "$status_log" "$model_name" "$log_file" "$seconds"
    return "$status"
}

function is_true() {
    case "$1" in
        True | true | TRUE | 1) return 0 ;;
        *) return 1 ;;
    esac
}

# func_inference MODEL_DIR ENTRY: one inference per use-gpu value and batch size. Returns 1 if any failed.
function func_inference() {
    local model_dir=$1 entry=$2
    local failed=0 use_gpu batch_size device_name set_use_gpu set_batch set_model_dir set_image set_benchmark
    local cmd log_file
    local -a use_gpu_list batch_list
    if [ -z "$inference_py" ] || [ "$inference_py" = "null" ]; then
        return 0
    fi
    IFS='|' read -r -a use_gpu_list <<< "$use_gpu_value"
    IFS='|' read -r -a batch_list <<< "$infer_batch_value"
    [ "${#use_gpu_list[@]}" -eq 0 ] && use_gpu_list=(null)
    [ "${#batch_list[@]}" -eq 0 ] && batch_list=(null)
    for use_gpu in "${use_gpu_list[@]}"; do
        if is_true "$use_gpu"; then device_name=gpu; else device_name=cpu; fi
        for batch_size in "${batch_list[@]}"; do
            set_use_gpu=$(func_set_params "$use_gpu_key" "$use_gpu")
            set_batch=$(func_set_params "$infer_batch_key" "$batch_size")
            set_model_dir=$(func_set_params "$infer_model_key" "$model_dir")
            set_image=$(func_set_params "$image_key" "$image_value")
            set_benchmark=$(func_set_params "$benchmark_key" "$benchmark_value")
            cmd=$(join_cmd "${python}" "${inference_py}" "${set_use_gpu}" "${set_batch}" "${set_model_dir}" "${set_image}" "${set_benchmark}")
            if [ "$device_name" = gpu ] && [ "$gpu_count" -eq 0 ]; then
                status_skip infer "$cmd" "no GPU on this machine, so the ${use_gpu_key}=${use_gpu} inference (gpu_list entry ${entry}) does not run" \
                    "$status_log" "$model_name"
                continue
            fi
            log_file="${LOG_PATH}/python_infer_${device_name}_gpus_${entry}_batchsize_${batch_size}.log"
            run_command infer "$cmd" "$log_file" || failed=1
        done
    done
    return "$failed"
}

# run_entry ENTRY: train, eval, export and infer on one gpu_list entry. Called in a subshell, so the
# CUDA_VISIBLE_DEVICES it exports never reaches the next entry.
function run_entry() {
    local entry=$1
    local failed=0 on_gpu=0 multi=0 set_device save_dir weights cmd
    local set_epoch set_save_model set_batch set_pretrain set_data set_eval_pretrain set_export_weight set_save_infer
    case "$entry" in
        *,*) multi=1 ;;
    esac
    if [ "$entry" != "-1" ]; then
        if [ "$gpu_count" -gt 0 ]; then
            on_gpu=1
            # A list's cards are given to the launcher below; CUDA_VISIBLE_DEVICES=<first card> here
            # would hide the others from it.
            [ "$multi" = 0 ] && export CUDA_VISIBLE_DEVICES=$entry
        elif [ "$multi" = 1 ]; then
            status_skip train "gpu_list entry ${entry}" \
                "no GPU on this machine, so the multi-card entry ${entry} (paddle.distributed.launch --gpus=${entry}) does not run" \
                "$status_log" "$model_name"
            return 0
        else
            echo "Note: no GPU on this machine; gpu_list entry ${entry} runs on the CPU."
        fi
    fi
    if [ "$on_gpu" = 1 ]; then
        set_device=$(func_set_params "$device_key" "$gpu_device_value")
    else
        set_device=$(func_set_params "$device_key" "$cpu_device_value")
    fi

    save_dir="${LOG_PATH}/norm_train_gpus_${entry}"
    weights="${save_dir}/${train_model_name}"
    # This runner's own output folder of the entry, emptied first: eval, export and inference must use what
    # this training writes, never an earlier run's weights or exported model.
    rm -rf -- "${save_dir}"

    set_save_model=$(func_set_params "$save_model_key" "$save_dir")
    set_epoch=$(func_set_params "$epoch_key" "$epoch_value")
    set_batch=$(func_set_params "$train_batch_key" "$train_batch_value")
    set_pretrain=$(func_set_params "$pretrain_model_key" "$pretrain_model_value")
    set_data=$(func_set_params "$data_key" "$data_value")
    if [ "$multi" = 1 ]; then
        cmd=$(join_cmd "${python}" -m paddle.distributed.launch "--gpus=${entry}" "${norm_train}" "${set_device}" "${set_save_model}" "${set_epoch}" "${set_batch}" "${set_pretrain}" "${set_data}")
        run_command train "$cmd" "${LOG_PATH}/train_gpus_${entry}.log" || failed=1
        # Eval, export and inference are single-process: they take the list's first card.
        export CUDA_VISIBLE_DEVICES=${entry%%,*}
    else
        cmd=$(join_cmd "${python}" "${norm_train}" "${set_device}" "${set_save_model}" "${set_epoch}" "${set_batch}" "${set_pretrain}" "${set_data}")
        run_command train "$cmd" "${LOG_PATH}/train_gpus_${entry}.log" || failed=1
    fi

    if [ -n "$eval_py" ] && [ "$eval_py" != "null" ]; then
        set_eval_pretrain=$(func_set_params "$pretrain_model_key" "$weights")
        cmd=$(join_cmd "${python}" "${eval_py}" "${set_device}" "${set_eval_pretrain}" "${set_data}")
        run_command eval "$cmd" "${LOG_PATH}/eval_gpus_${entry}.log" || failed=1
    fi

    if [ -n "$norm_export" ] && [ "$norm_export" != "null" ]; then
        set_export_weight=$(func_set_params "$export_weight_key" "$weights")
        set_save_infer=$(func_set_params "$save_infer_key" "$save_dir")
        cmd=$(join_cmd "${python}" "${norm_export}" "${set_export_weight}" "${set_save_infer}")
        run_command export "$cmd" "${LOG_PATH}/export_gpus_${entry}.log" || failed=1
    fi

    func_inference "$save_dir" "$entry" || failed=1
    return "$failed"
}

# run_whole_infer ENTRY: export the given weights (if any) and run inference from the exported model.
function run_whole_infer() {
    local entry=$1
    local failed=0 model_dir set_export_weight set_save_infer cmd
    if [ "$entry" != "-1" ] && [ "$gpu_count" -gt 0 ]; then
        export CUDA_VISIBLE_DEVICES=$entry
    fi
    if [ -n "$infer_export" ] && [ "$infer_export" != "null" ] && [ -n "$infer_model" ] && [ "$infer_model" != "null" ]; then
        model_dir=$save_infer_dir
        set_export_weight=$(func_set_params "$export_weight_key" "$infer_model")
        set_save_infer=$(func_set_params "$save_infer_key" "$save_infer_dir")
        cmd=$(join_cmd "${python}" "${infer_export}" "${set_export_weight}" "${set_save_infer}")
        run_command export "$cmd" "${LOG_PATH}/export_gpus_${entry}.log" || failed=1
    elif [ -n "$infer_model_value" ] && [ "$infer_model_value" != "null" ]; then
        # Nothing to export: line 30 names an already exported model.
        model_dir=$infer_model_value
    else
        model_dir=$save_infer_dir
    fi
    func_inference "$model_dir" "$entry" || failed=1
    return "$failed"
}

any_failed=0
IFS='|' read -r -a gpu_entries <<< "$gpu_list"
[ "${#gpu_entries[@]}" -eq 0 ] && gpu_entries=(-1)

if [ "$MODE" = "whole_infer" ]; then
    # Nothing trains here, so one device is enough: the first entry (its first card for a list).
    whole_infer_entry=${gpu_entries[0]%%,*}
    (run_whole_infer "$whole_infer_entry") || any_failed=1
else
    for gpu in "${gpu_entries[@]}"; do
        (run_entry "$gpu") || any_failed=1
    done
fi

echo "TIPC: results in ${status_log}"
exit "$any_failed"
