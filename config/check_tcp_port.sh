#!/bin/sh
# The seed deployment's send_program (lvs.cf: send_program = "/usr/local/bin/check_tcp_port.sh %h 3306",
# expect = "OK"), with its wiki formatting repaired. Prints OK when a TCP connection to addr:port succeeds,
# FAIL otherwise, and always exits 0 (nanny only compares the output).
# Repairs: the stray backticks around the TEST line are gone; nc's verbose report goes to stderr, so it is
# captured with 2>&1 (the seed's 2>/dev/null left grep nothing to count); `==` is a bashism that dash rejects,
# so `=`; usage is printed when EITHER argument is missing; -w bounds the connect on a silent network.
# Works with Debian's netcat-openbsd ("Connection to A P port [tcp/*] succeeded!") and RHEL's nc ("... succeeded!").

if [ -z "$1" ] || [ -z "$2" ]; then
  echo "Usage: $0 addr port"
  exit 1
fi

TEST=`/usr/bin/nc -zvv -w 3 "$1" "$2" 2>&1 | grep -c succeed`

if [ "$TEST" = 1 ]; then
  echo "OK"
else
  echo "FAIL"
fi

exit 0
