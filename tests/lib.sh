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

# The first interpreter that has the Python actor's packages (python3-zmq, python3-protobuf,
# python3-numpy): PYTHON, else python3 on PATH, else Debian's /usr/bin/python3 (python3 on PATH may
# be another install). Prints it; 1 when none has them.
python_for_actor() {
    local p
    for p in ${PYTHON:-python3 /usr/bin/python3}; do
        if "$p" -c 'import zmq, google.protobuf, numpy' 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

# N free TCP ports on loopback, space-separated (the kernel's choice; another process may take
# one before it is bound, as with any such probe)
free_ports() {
    "${PY:-python3}" -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])' "$1"
}
