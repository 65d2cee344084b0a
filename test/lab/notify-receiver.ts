// A stand-in for systemd's $NOTIFY_SOCKET: prints each sd_notify message on a line ('|' for newlines) and, like
// systemd, closes the barrier fds systemd-notify sends so it can return. BARRIER=1 messages are not printed.
export const NOTIFY_RECEIVER = `
import socket, sys, os, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds = array.array("i"); fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
            for fd in fds: os.close(fd)
    if msg != b"BARRIER=1": print(msg.decode().replace("\\n", "|"), flush=True)
`;
