#!/bin/bash
# Checks that the data a TIPC mode needs is in place, before the runner starts.
#
#   bash test_tipc/prepare.sh test_tipc/configs/<model_name>/train_infer_python.txt MODE
#
# Nothing is downloaded: the machines this runs on are offline, so the data must already be in the
# repository (the lite set) or be put where the config says (the full set). Exit 0 when ready.

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common_func.sh
source "${script_dir}/common_func.sh"

FILENAME=$1
MODE=$2

if [ $# -lt 2 ]; then
    echo "usage: bash test_tipc/prepare.sh CONFIG MODE" >&2
    exit 1
fi
func_read_config "$FILENAME"  # the array `lines`: line N of the config is lines[N-1]

model_name=$(func_parser_value "${lines[1]}")
data_key=$(func_parser_key "${lines[10]}")
data_value=$(func_parser_value_by_mode "${lines[10]}" "$MODE")
if [ -z "$data_value" ] && [ "$MODE" = "lite_train_whole_infer" ]; then
    # Same fallback as the runner: this mode trains on the lite data.
    data_value=$(func_parser_value_by_mode "${lines[10]}" lite_train_lite_infer)
fi
train_model=$(func_parser_value "${lines[23]}")
infer_export=$(func_parser_value "${lines[24]}")
infer_model_value=$(func_parser_value "${lines[29]}")
save_infer_dir=$(func_parser_value "${lines[19]}")
image_key=$(func_parser_key "${lines[30]}")
image_value=$(func_parser_value "${lines[30]}")

ready=0

function need_path() {
    local what=$1 path=$2
    if [ -e "$path" ]; then
        echo "ok: ${what} ${path}"
    else
        echo "missing: ${what} ${path} does not exist" >&2
        ready=1
    fi
}

case "$MODE" in
    lite_train_lite_infer | lite_train_whole_infer)
        # The lite set is small enough to live in the repository; its absence is a packaging mistake.
        if [ -z "$data_value" ] || [ "$data_value" = "null" ]; then
            echo "missing: config line 11 (${data_key}) names no data path for ${MODE}" >&2
            ready=1
        else
            need_path "lite data (config line 11, ${data_key})" "$data_value"
        fi
        ;;
    whole_train_whole_infer)
        echo "${MODE} trains ${model_name} on the full data set: provide it yourself (nothing is downloaded)"
        echo "at the path of config line 11 (${data_key}), laid out as the training program reads it."
        if [ -z "$data_value" ] || [ "$data_value" = "null" ]; then
            echo "missing: config line 11 (${data_key}) names no data path for ${MODE}" >&2
            ready=1
        else
            need_path "full data (config line 11, ${data_key})" "$data_value"
        fi
        ;;
    whole_infer)
        if [ -n "$infer_export" ] && [ "$infer_export" != "null" ]; then
            if [ -z "$train_model" ] || [ "$train_model" = "null" ]; then
                echo "missing: config line 24 (train_model) names no weights to export for whole_infer" >&2
                ready=1
            else
                need_path "trained weights (config line 24, train_model)" "$train_model"
            fi
        elif [ -n "$infer_model_value" ] && [ "$infer_model_value" != "null" ]; then
            need_path "exported model (config line 30)" "$infer_model_value"
        else
            need_path "exported model (config line 20)" "$save_infer_dir"
        fi
        ;;
    *)
        echo "unknown mode '${MODE}': use lite_train_lite_infer, lite_train_whole_infer," \
            "whole_train_whole_infer or whole_infer" >&2
        exit 1
        ;;
esac

# Every mode ends in Paddle Inference on this image.
if [ -n "$image_value" ] && [ "$image_value" != "null" ]; then
    need_path "inference image (config line 31, ${image_key})" "$image_value"
fi

if [ "$ready" = 0 ]; then
    echo "prepare: ready for ${MODE}"
else
    echo "prepare: not ready for ${MODE}" >&2
fi
exit "$ready"
