// A stand-in for systemd's $NOTIFY_SOCKET (the path given; '@name' = abstract): prints each sd_notify message on a
// line as `pid=<sender> <message>` ('|' for newlines). Like systemd it sets SO_PASSCRED, so the kernel names the sending PID (what NotifyAccess=main
// checks), and it closes any fds a sender passes (systemd-notify's barrier). BARRIER=1 messages are not printed.
export const NOTIFY_RECEIVER = `
import socket, sys, os, array, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\\0" + sys.argv[1][1:] if sys.argv[1].startswith("@") else sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4) + socket.CMSG_SPACE(12))
    pid = 0
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds = array.array("i"); fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
            for fd in fds: os.close(fd)
        if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    if msg != b"BARRIER=1": print("pid=%d %s" % (pid, msg.decode().replace("\\n", "|")), flush=True)
`;

/** The receiver's lines as { pid, message } (message with '|' between its lines). */
export function parseNotified(out: string): { pid: number; message: string }[] {
  return [...out.matchAll(/^pid=(\d+) (.*)$/gm)].map((m) => ({ pid: Number(m[1]), message: m[2] }));
}
