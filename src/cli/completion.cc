#include "cli/completion.h"

namespace kilo::cli {

std::string BashCompletion() {
  return R"(# bash completion for kgctl; source it or put it in /etc/bash_completion.d/kgctl
_kgctl() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  local global="--kubeconfig --backend --mesh-granularity --port --topology-label --from-file --now --subnet6 --help"
  local cmds="graph showconf plan check connect completion"
  case "$prev" in
    --kubeconfig|--from-file) COMPREPLY=($(compgen -f -- "$cur")); return;;
    --mesh-granularity) COMPREPLY=($(compgen -W "location full cross" -- "$cur")); return;;
    --encapsulate) COMPREPLY=($(compgen -W "never crosssubnet always" -- "$cur")); return;;
    --compatibility) COMPREPLY=($(compgen -W "none flannel cilium" -- "$cur")); return;;
    -o|--output) COMPREPLY=($(compgen -W "wireguard yaml json dot svg png" -- "$cur")); return;;
  esac
  local sub="" i
  for ((i=1; i<cword; i++)); do
    case "${words[i]}" in graph|showconf|plan|check|connect|completion) sub="${words[i]}"; break;; esac
  done
  case "$sub" in
    "") COMPREPLY=($(compgen -W "$cmds $global" -- "$cur"));;
    graph) COMPREPLY=($(compgen -W "-o --output --layout" -- "$cur"));;
    showconf) COMPREPLY=($(compgen -W "node peer --as-peer -o --output --allowed-ips" -- "$cur"));;
    plan) COMPREPLY=($(compgen -W "node --subnet --encapsulate --local --compatibility --interface --cni --iptables-forward-rules --service-cidr" -- "$cur"));;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur"));;
    connect) COMPREPLY=($(compgen -W "--interface --allowed-ip --allowed-ips --mtu --persistent-keepalive --private-key --resync-period --log-level --clean-up" -- "$cur"));;
    *) COMPREPLY=();;
  esac
}
complete -F _kgctl kgctl
complete -F _kgctl kubectl-kilo
)";
}

std::string ZshCompletion() {
  return R"(#compdef kgctl kubectl-kilo
# zsh completion for kgctl; put it in a directory of $fpath as _kgctl
_kgctl() {
  local -a cmds
  cmds=(
    'graph:produce a graph of the Kilo network'
    'showconf:show the WireGuard configuration of a node or peer'
    'plan:show everything kg would configure on a node'
    'check:lint the cluster for problems'
    'connect:make this host a peer of the cluster'
    'completion:print a shell completion script'
  )
  _arguments -C \
    '--kubeconfig[path to a kubeconfig]:file:_files' \
    '--backend[backend]:backend:(kubernetes)' \
    '--mesh-granularity[granularity]:granularity:(location full cross)' \
    '--port[WireGuard port]:port:' \
    '--topology-label[node label of the location]:label:' \
    '--from-file[cluster dump]:file:_files' \
    '--now[unix time]:seconds:' \
    '--subnet6[IPv6 WireGuard subnet (dual-stack)]:cidr:' \
    '1: :->cmd' \
    '*:: :->args'
  case $state in
    cmd) _describe 'command' cmds;;
    args)
      case $words[1] in
        showconf) _arguments '1:kind:(node peer)' '2:name:' '--as-peer' '(-o --output)'{-o,--output}'[format]:format:(wireguard yaml json)' '--allowed-ips[extra CIDRs]:cidrs:';;
        graph) _arguments '(-o --output)'{-o,--output}'[format]:format:(dot svg png)' '--layout[layout]:layout:(circo dot fdp neato twopi)';;
        plan) _arguments '1:kind:(node)' '2:name:' '--subnet:cidr:' '--encapsulate:mode:(never crosssubnet always)' '--local:bool:(true false)' '--compatibility:mode:(none flannel cilium)' '--interface:name:';;
        completion) _arguments '1:shell:(bash zsh)';;
      esac;;
  esac
}
_kgctl "$@"
)";
}

}  // namespace kilo::cli
