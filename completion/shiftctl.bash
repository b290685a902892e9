# SPDX-License-Identifier: GPL-2.0-or-later
# bash completion for shiftctl(1).
#
# Nothing here lists a verb or an option by hand: verbs come from
# 'shiftctl --help' and each verb's options from 'shiftctl VERB --help'
# (read once per shell and verb), so the completion cannot drift from the
# program. Values: the choices an option's help spells as a|b|c, users from
# /etc/subuid for --rootless= and --userns-remap=, the mount points of
# 'shiftctl status --json' for umount and status, and files or directories
# for the rest.

# _shiftctl_help [VERB]: the help text (cached).
_shiftctl_help()
{
	local key=${1:-_main} cmd=${_shiftctl_cmd:-shiftctl}
	declare -gA _shiftctl_help_cache
	if [[ -z ${_shiftctl_help_cache[$key]+set} ]]; then
		if [[ $key == _main ]]; then
			_shiftctl_help_cache[$key]=$("$cmd" --help 2>/dev/null)
		else
			_shiftctl_help_cache[$key]=$("$cmd" "$key" --help 2>/dev/null)
		fi
	fi
	printf '%s\n' "${_shiftctl_help_cache[$key]}"
}

# The verbs, one a line: the "Commands:" list of shiftctl --help.
_shiftctl_verbs()
{
	_shiftctl_help | awk '/^Commands:/ { on = 1; next }
		on && /^$/ { exit }
		on && /^ [a-z]/ { print $1 }'
	echo help
}

# The option specs of VERB, one a line, as --help writes them: "-r",
# "--read-only", "--backend=auto|idmap|fuse", "--rootless[=USER]",
# "-o OPT[,OPT...]". Only lines that start an option (indented at most six
# columns); continuation lines are indented further.
_shiftctl_specs()
{
	_shiftctl_help "$1" | sed -n 's/^ \{1,6\}\(-.*\)$/\1/p' |
		sed 's/  .*//' | sed 's/, /\n/g'
}

# The words to offer for VERB's options: "--name=" for an option that
# takes a value, "--name" for one that does not, both for an optional one.
_shiftctl_opts()
{
	local spec
	while IFS= read -r spec; do
		case $spec in
		--*\[=*) echo "${spec%%\[*}"; echo "${spec%%\[*}=" ;;
		--*=*) echo "${spec%%=*}=" ;;
		-?\ *) echo "${spec%% *}" ;;
		-*) echo "$spec" ;;
		esac
	done < <(_shiftctl_specs "$1")
}

# The placeholder of OPTION (e.g. "auto|idmap|fuse", "USER", "FILE").
_shiftctl_arg()
{
	local spec
	while IFS= read -r spec; do
		case $spec in
		"$2="*) echo "${spec#*=}"; return ;;
		"$2[="*) spec=${spec#*=}; echo "${spec%]}"; return ;;
		"$2 "*) echo "${spec#* }"; return ;;
		esac
	done < <(_shiftctl_specs "$1")
}

# Users with a subordinate uid range.
_shiftctl_subid_users()
{
	[[ -r /etc/subuid ]] && cut -d: -f1 /etc/subuid | sort -u
}

# Mount points of the active shifted mounts (shiftctl status --json; one
# "mountpoint": "..." member a line, JSON escapes of " and \ undone).
_shiftctl_mounts()
{
	"${_shiftctl_cmd:-shiftctl}" status --json 2>/dev/null |
		sed -n 's/^ *"mountpoint": "\(.*\)",\{0,1\}$/\1/p' |
		sed 's/\\"/"/g; s/\\\\/\\/g'
}

# Complete the value of option $2 of verb $1, the word typed so far $3.
_shiftctl_value()
{
	local verb=$1 opt=$2 cur=$3 arg
	arg=$(_shiftctl_arg "$verb" "$opt")
	case $opt in
	--rootless | --userns-remap)
		mapfile -t COMPREPLY < <(compgen -W \
			"$(_shiftctl_subid_users) $([[ $opt == --userns-remap ]] &&
				echo default)" -- "$cur")
		return ;;
	esac
	case $arg in
	*\|*)
		mapfile -t COMPREPLY < <(compgen -W "${arg//|/ }" -- "$cur") ;;
	FILE | JOURNAL)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	DIR)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
	*)
		COMPREPLY=() ;;
	esac
}

_shiftctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} verb="" i w opt
	_shiftctl_cmd=${COMP_WORDS[0]}
	COMPREPLY=()
	# The verb: the first word after global options.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w != -* ]]; then
			verb=$w
			break
		fi
	done
	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W \
				"--help --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W \
				"$(_shiftctl_verbs)" -- "$cur")
		fi
		return 0
	fi
	if [[ $verb == help ]]; then
		((COMP_CWORD == i + 1)) && mapfile -t COMPREPLY < <(compgen -W \
			"$(_shiftctl_verbs)" -- "$cur")
		return 0
	fi
	# --opt=VALUE (bash splits at '=' with the default COMP_WORDBREAKS)
	if [[ $cur == = && $COMP_CWORD -ge 2 ]]; then
		_shiftctl_value "$verb" "${COMP_WORDS[COMP_CWORD - 1]}" ""
		return 0
	fi
	if [[ ${COMP_WORDS[COMP_CWORD - 1]} == = && $COMP_CWORD -ge 3 ]]; then
		_shiftctl_value "$verb" "${COMP_WORDS[COMP_CWORD - 2]}" "$cur"
		return 0
	fi
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		_shiftctl_value "$verb" "$opt" "${cur#*=}"
		return 0
	fi
	# an option that takes its value as the next word (-o OPT)
	w=${COMP_WORDS[COMP_CWORD - 1]}
	if [[ $w == -? && -n $(_shiftctl_arg "$verb" "$w") ]]; then
		return 0
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W \
			"$(_shiftctl_opts "$verb")" -- "$cur")
		[[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
		return 0
	fi
	case $verb in
	umount | status)
		mapfile -t COMPREPLY < <(compgen -W \
			"$(_shiftctl_mounts)" -- "$cur")
		((${#COMPREPLY[@]})) ||
			mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
	undo)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	map) ;;
	*)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
	esac
	return 0
}
complete -F _shiftctl shiftctl
