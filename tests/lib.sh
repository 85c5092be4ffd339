# Shell helpers the script tests share; `. "$(dirname "$0")/lib.sh"` (bash).

# GET path from 127.0.0.1:port with bash's /dev/tcp; the body on stdout, 0 when the status is 200
http_get() {
    exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    local reply
    reply=$(timeout 5 cat <&3)
    exec 3<&-
    case "$reply" in "HTTP/1."?" 200"*) ;; *) return 1 ;; esac
    printf '%s\n' "$reply" | tr -d '\r' | sed '1,/^$/d'
}
