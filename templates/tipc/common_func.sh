#!/bin/bash
# Parsing and status functions shared by test_tipc/prepare.sh and test_tipc/test_train_inference_python.sh.
#
# A config line is `key:value`, split on the FIRST ':' so that values may hold ':' (URLs, `a:b` args) while
# keys never do. `null` as a key or a value means "no such flag".

# Key of a config line: everything before the first ':'.
function func_parser_key() {
    local line=${1%$'\r'}
    printf '%s\n' "${line%%:*}"
}

# Value of a config line: everything after the first ':' (empty when the line has no ':').
function func_parser_value() {
    local line=${1%$'\r'}
    case "$line" in
        *:*) printf '%s\n' "${line#*:}" ;;
        *) printf '\n' ;;
    esac
}

# Value of a `MODE=value|MODE=value` line for one mode. A value without any `MODE=` item is not
# mode-dependent and comes back as it is; a mode-dependent value that does not name MODE gives nothing.
function func_parser_value_by_mode() {
    local value mode=$2 item has_modes=0
    local -a items
    value=$(func_parser_value "$1")
    IFS='|' read -r -a items <<< "$value"
    for item in "${items[@]}"; do
        # Only an item naming a mode picks by mode: a plain value may hold "=" (./data=v2).
        case "$item" in
            lite_train_lite_infer=* | lite_train_whole_infer=* | whole_infer=* | whole_train_whole_infer=*)
                has_modes=1
                if [ "${item%%=*}" = "$mode" ]; then
                    printf '%s\n' "${item#*=}"
                    return 0
                fi
                ;;
        esac
    done
    if [ "$has_modes" = 0 ]; then
        printf '%s\n' "$value"
    else
        printf '\n'
    fi
}

# `KEY=VALUE`, or nothing when either side is empty or `null`, so that a command line simply loses the flag.
function func_set_params() {
    local key=$1 value=$2
    if [ -z "$key" ] || [ "$key" = "null" ] || [ -z "$value" ] || [ "$value" = "null" ]; then
        return 0
    fi
    printf '%s=%s\n' "$key" "$value"
}

# The tab-separated row beside results_python.log: paddle-port joins it to the log line by command text,
# so the last column must be exactly the text between `<model> - ` and the closing `!` of that line.
function _tipc_tsv_row() {
    local results_log=$1 stage=$2 status=$3 seconds=$4 log_file=$5 command=$6
    printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$status" "$seconds" "$log_file" "$command" \
        >> "$(dirname "$results_log")/commands.tsv"
}

# Colour only on a terminal: the results file is parsed, so it must stay plain text.
function _tipc_say() {
    local colour=$1 line=$2
    if [ -t 1 ]; then
        printf '\033[%sm%s\033[0m\n' "$colour" "$line"
    else
        printf '%s\n' "$line"
    fi
}

# status_check STATUS STAGE COMMAND RESULTS_LOG MODEL_NAME LOG_FILE SECONDS
function status_check() {
    local status=$1 stage=$2 command=$3 results_log=$4 model_name=$5 log_file=$6 seconds=$7
    local word colour line
    if [ "$status" = 0 ]; then
        word=successfully
        colour=32
    else
        word=failed
        colour=31
    fi
    line="Run ${word} with command - ${model_name} - ${command}!"
    printf '%s\n' "$line" >> "$results_log"
    _tipc_say "$colour" "$line"
    _tipc_tsv_row "$results_log" "$stage" "$word" "$seconds" "$log_file" "$command"
}

# status_skip STAGE WHAT WHY RESULTS_LOG MODEL_NAME
# A skip is recorded, not silent, so a reader can tell "not run here" from "forgotten".
function status_skip() {
    local stage=$1 what=$2 why=$3 results_log=$4 model_name=$5
    local line
    line="Run skipped with command - ${model_name} - ${what}: ${why}!"
    printf '%s\n' "$line" >> "$results_log"
    _tipc_say 33 "$line"
    _tipc_tsv_row "$results_log" "$stage" "skipped" "0.0" "-" "${what}: ${why}"
}

# Reads a TIPC config into the array `lines` (line N is lines[N-1]: the runner reads by position), without
# the CRs an editor on Windows leaves, which would end up inside the last argument of every command. Exits
# naming the file when it is missing or shorter than the 32 lines read.
func_read_config() {
    local file=$1
    if [ ! -f "$file" ]; then
        echo "config file not found: ${file}" >&2
        exit 1
    fi
    mapfile -t lines < "$file"
    lines=("${lines[@]%$'\r'}")
    if [ "${#lines[@]}" -lt 32 ]; then
        echo "config ${file} has ${#lines[@]} lines; the TIPC config has 32" >&2
        exit 1
    fi
}
