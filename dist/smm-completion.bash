# smm-completion.bash — bash completion for smm-server and smm-client.
# Installed as share/bash-completion/completions/smm-server and .../smm-client
# (bash-completion loads it by the command's name). Options, commands and
# policies are read from the programs' own --help, so what is offered is
# always what the installed program takes.

# _smm_help PROGRAM [COMMAND]: PROGRAM's help text (for COMMAND).
_smm_help() {
    "$@" --help 2>/dev/null
}

# _smm_options PROGRAM [COMMAND]: the long options the help lists (on
# indented lines: the option table).
_smm_options() {
    _smm_help "$@" | sed -n 's/^  *\(-[A-Za-z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p' | sort -u
}

# _smm_takes_value PROGRAM [COMMAND] -- OPTION: true when OPTION takes a value.
_smm_takes_value() {
    local opt=${*: -1}
    _smm_help "${@:1:$#-2}" | grep -q -- "^ *\(-[A-Za-z], \)\{0,1\}$opt [A-Z]"
}

# _smm_word_and_prev: the word being completed and the option before it,
# with "--flag=value" (which bash splits at '=') seen as "--flag" "value".
_smm_word_and_prev() {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi
}

_smm_client() {
    local cur prev cmd= i words
    local prog=${COMP_WORDS[0]}
    _smm_word_and_prev
    local commands
    commands=$(_smm_help "$prog" | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' | tr '\n' ' ')
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ " $commands help " == *" ${COMP_WORDS[i]} "* ]]; then
            cmd=${COMP_WORDS[i]}
            break
        fi
    done
    case $prev in
        --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
        --op) COMPREPLY=($(compgen -W "malloc ping" -- "$cur")); return ;;
        --admin-token-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --host) COMPREPLY=($(compgen -A hostname -- "$cur")); return ;;
        help) [[ $cmd == help ]] && { COMPREPLY=($(compgen -W "$commands" -- "$cur")); return; } ;;
    esac
    if [[ $prev == --* && -n $cmd && $cmd != help ]] &&
        _smm_takes_value "$prog" "$cmd" -- "$prev"; then
        COMPREPLY=()
        return
    fi
    if [[ $cur == -* ]]; then
        [[ $cmd == help ]] && cmd=
        COMPREPLY=($(compgen -W "$(_smm_options "$prog" $cmd)" -- "$cur"))
    elif [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands help" -- "$cur"))
    fi
}

_smm_server() {
    local cur prev
    local prog=${COMP_WORDS[0]}
    _smm_word_and_prev
    case $prev in
        --policy)
            COMPREPLY=($(compgen -W "$(_smm_help "$prog" |
                sed -n 's/^Policies: \(.*\)\.$/\1/p' | tr -d ,)" -- "$cur"))
            return ;;
        --log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return ;;
        --log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --admin-token-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --host) COMPREPLY=($(compgen -A hostname -- "$cur")); return ;;
    esac
    if [[ $prev == --* ]] && _smm_takes_value "$prog" -- "$prev"; then
        COMPREPLY=()
        return
    fi
    COMPREPLY=($(compgen -W "$(_smm_options "$prog")" -- "$cur"))
}

complete -F _smm_client smm-client
complete -F _smm_server smm-server
