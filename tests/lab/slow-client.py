#!/usr/bin/env python3
"""A slow HTTP client for the nginx lab: reads its response at a fixed
rate through a small receive buffer, so that its TCP window closes.

  slow-client.py [curl options] -o FILE URL

Takes the options tests/lab/run gives curl (-sS, -g, --max-time S,
--interface IP, -w FORMAT, -o FILE) and, instead of curl's --limit-rate,
its own:

  --limit-rate RATE   bytes per second, k/m suffixes as curl's (1024)
  --rcvbuf N          SO_RCVBUF before connect (the kernel doubles it);
                      this also turns off receive buffer autotuning

Why not curl --limit-rate: curl 7.88 (Debian 12) reads in bursts well
above the limit, and its receive buffer autotunes to megabytes, so how
long nginx's window to the upstream stays closed varied from run to run.

Prints the status code as curl -w '%{http_code}\\n' does (000: none) and
exits with curl's codes: 0 complete, 18 body shorter than Content-Length
("transfer closed with N bytes remaining to read"), 28 --max-time, 52
empty reply, 56 reset, 7 connect failed.
"""

import socket
import sys
import time


def rate_of(s):
    mult = {'k': 1024, 'm': 1024 * 1024, 'g': 1024 ** 3}
    if s and s[-1].lower() in mult:
        return int(float(s[:-1]) * mult[s[-1].lower()])
    return int(s)


def parse_args(argv):
    opts = {'max_time': 10.0, 'interface': None, 'rate': 20 * 1024,
            'rcvbuf': 0, 'out': None, 'url': None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('-sS', '-s', '-S', '-g'):
            pass
        elif a == '-w':
            i += 1                  # always %{http_code}\n
        elif a == '--max-time':
            i += 1
            opts['max_time'] = float(argv[i])
        elif a == '--interface':
            i += 1
            opts['interface'] = argv[i]
        elif a == '--limit-rate':
            i += 1
            opts['rate'] = rate_of(argv[i])
        elif a == '--rcvbuf':
            i += 1
            opts['rcvbuf'] = rate_of(argv[i])
        elif a == '-o':
            i += 1
            opts['out'] = argv[i]
        elif a.startswith('http://'):
            opts['url'] = a
        else:
            raise SystemExit('slow-client.py: unsupported option %s' % a)
        i += 1
    if opts['url'] is None:
        raise SystemExit('slow-client.py: no URL')
    return opts


def split_url(url):
    rest = url[len('http://'):]
    hostport, _, path = rest.partition('/')
    if hostport.startswith('['):
        host, _, port = hostport[1:].partition(']:')
    else:
        host, _, port = hostport.rpartition(':')
    return host, int(port), hostport, '/' + path


def main():
    o = parse_args(sys.argv[1:])
    host, port, hostport, path = split_url(o['url'])
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    deadline = time.monotonic() + o['max_time']
    code, status, got, want = 0, 0, 0, None
    out = open(o['out'], 'wb') if o['out'] else None
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        if o['rcvbuf']:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, o['rcvbuf'])
        if o['interface']:
            s.bind((o['interface'], 0))
        s.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            s.connect((host, port))
        except OSError as e:
            print('slow-client: (7) connect: %s' % e, file=sys.stderr)
            return 7, 0
        s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: '
                   'lab-slow-client\r\nAccept: */*\r\n\r\n'
                   % (path, hostport)).encode())
        head = b''
        # read in ticks of 50 ms, rate/20 bytes each: no bursts
        tick = 0.05
        per_tick = max(o['rate'] * tick, 1)
        nxt = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                print('slow-client: (28) operation timed out with %d '
                      'bytes received' % got, file=sys.stderr)
                code = 28
                break
            if nxt > now:
                time.sleep(min(nxt - now, deadline - now))
                continue
            nxt += tick
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                data = s.recv(int(per_tick) if status else 4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                print('slow-client: (56) recv failure: connection reset '
                      'by peer', file=sys.stderr)
                code = 56
                break
            if not data:
                if not status:
                    print('slow-client: (52) empty reply from server',
                          file=sys.stderr)
                    code = 52
                elif want is not None and got < want:
                    print('slow-client: (18) transfer closed with %d bytes '
                          'remaining to read' % (want - got),
                          file=sys.stderr)
                    code = 18
                break
            if not status:
                head += data
                if b'\r\n\r\n' not in head:
                    continue
                hdr, _, data = head.partition(b'\r\n\r\n')
                lines = hdr.decode('latin-1').split('\r\n')
                status = int(lines[0].split()[1])
                for line in lines[1:]:
                    k, _, v = line.partition(':')
                    if k.strip().lower() == 'content-length':
                        want = int(v.strip())
            got += len(data)
            if out:
                out.write(data)
            if want is not None and got >= want:
                break
    finally:
        s.close()
        if out:
            out.close()
    return code, status


if __name__ == '__main__':
    rc, st = main()
    print('%03d' % st)
    sys.exit(rc)
