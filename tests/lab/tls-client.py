#!/usr/bin/env python3
"""A TLS client for the nginx lab that gives up its handshake.

  tls-client.py --mode MODE [curl options] -o FILE URL

Takes the options tests/lab/run gives curl (-sS, -g, -k, --max-time S,
--interface IP, --resolve NAME:PORT:ADDR, -w FORMAT, -o FILE) and
connects to the address --resolve gives (or the URL's).  The
ClientHello is a real one, from Python's ssl module (SNI the URL's host
name, ALPN h2 and http/1.1 as curl offers); then, by MODE:

  hello_rst    wait for the server's first flight, then reset (SO_LINGER 0)
  hello_fin    wait for the server's first flight, then FIN and wait for
               the server's close
  hello_only_rst  reset at once after the ClientHello
  short        a handshake record holding a ClientHello of length 0,
               then wait for the server's close
  untrusted    a whole handshake that verifies the server's certificate
               against no CA: the client sends an alert (unknown_ca) and
               closes

Prints 000 as curl -w '%{http_code}\\n' does when there is no response,
and exits 35 (curl's "SSL connect error").
"""

import socket
import ssl
import struct
import sys
import time


def parse_args(argv):
    opts = {'mode': None, 'max_time': 10.0, 'interface': None,
            'resolve': None, 'url': None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('-sS', '-s', '-S', '-g', '-k'):
            pass
        elif a in ('-w', '-o'):
            i += 1
        elif a == '--mode':
            i += 1
            opts['mode'] = argv[i]
        elif a == '--max-time':
            i += 1
            opts['max_time'] = float(argv[i])
        elif a == '--interface':
            i += 1
            opts['interface'] = argv[i]
        elif a == '--resolve':
            i += 1
            name, port, addr = argv[i].split(':', 2)
            opts['resolve'] = (name, int(port), addr.strip('[]'))
        elif a.startswith('https://') or a.startswith('http://'):
            opts['url'] = a
        else:
            raise SystemExit('tls-client.py: unsupported option %s' % a)
        i += 1
    if opts['url'] is None or opts['mode'] is None:
        raise SystemExit('tls-client.py: --mode and a URL are needed')
    return opts


def client_hello(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_alpn_protocols(['h2', 'http/1.1'])   # as curl offers
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def wait_read(s, deadline, want_close):
    """Read what the server sends: its first flight, or up to its close."""
    got = b''
    while time.monotonic() < deadline:
        s.settimeout(0.3 if got and not want_close else
                     max(deadline - time.monotonic(), 0.01))
        try:
            b = s.recv(65536)
        except socket.timeout:
            if got and not want_close:
                return got
            continue
        except OSError:
            return got
        if not b:
            return got
        got += b
    return got


def main():
    o = parse_args(sys.argv[1:])
    rest = o['url'].split('://', 1)[1]
    hostport = rest.split('/', 1)[0]
    host, _, port = hostport.rpartition(':')
    host = host.strip('[]')
    port = int(port)
    addr = host
    if o['resolve'] is not None and o['resolve'][0] == host:
        addr = o['resolve'][2]
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    deadline = time.monotonic() + o['max_time']
    s = socket.socket(fam, socket.SOCK_STREAM)
    if o['interface']:
        s.bind((o['interface'], 0))
    s.settimeout(o['max_time'])
    s.connect((addr, port))
    mode = o['mode']
    if mode == 'short':
        s.sendall(b'\x16\x03\x01\x00\x04\x01\x00\x00\x00')
        wait_read(s, deadline, True)
        s.close()
    elif mode == 'untrusted':
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.set_alpn_protocols(['h2', 'http/1.1'])
        try:
            ctx.wrap_socket(s, server_hostname=host)
        except ssl.SSLError:
            pass
        s.close()
    else:
        s.sendall(client_hello(host))
        if mode != 'hello_only_rst':
            wait_read(s, deadline, False)
        if mode in ('hello_rst', 'hello_only_rst'):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack('ii', 1, 0))
            s.close()
        elif mode == 'hello_fin':
            s.shutdown(socket.SHUT_WR)
            wait_read(s, deadline, True)
            s.close()
        else:
            raise SystemExit('tls-client.py: unknown mode %s' % mode)
    print('000')
    return 35


if __name__ == '__main__':
    sys.exit(main())
