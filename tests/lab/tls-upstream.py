#!/usr/bin/env python3
"""A misbehaving TLS upstream for the lab (issue 17).

  tls-upstream.py --listen IP:PORT --mode MODE --cert C --key K
                  [--max-seconds S]

Modes (what the server does on each connection):
  hs_close      read the ClientHello, close (FIN) before any answer
  hs_rst        read the ClientHello, reset (SO_LINGER 0)
  alert         read the ClientHello, send a fatal handshake_failure
                alert in clear, close
  rst_wait      finish the handshake, read the request, reset
  fin_wait      finish the handshake, read the request, close without
                close_notify
  notify_wait   finish the handshake, read the request, send close_notify,
                then close
  mid_rst       answer a header with Content-Length 100000 and 1000 body
                bytes, then reset
  mid_fin       the same, then close without close_notify
  plain         read the ClientHello, answer it in plain HTTP (400),
                close: an HTTP server on nginx's TLS upstream port
  healthy       answer 200 "ok\\n" with Content-Length, keep-alive, and
                serve further requests on the connection
  keepalive_rst_second
                answer the first request on a connection as healthy does,
                reset (no close_notify) when the second one comes: a
                keep-alive reuse race

Prints "listening on IP:PORT" once ready (the lab runner waits for it).
"""
import argparse
import signal
import socket
import ssl
import struct
import sys
import threading
import time

ALERT_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n"


def reset(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def read_request(t):
    """Read one request head over TLS; False at EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            d = t.recv(4096)
        except (ssl.SSLError, OSError):
            return False
        if not d:
            return False
        buf += d
    return True


def raw_of(t):
    """The TCP socket under a TLS one, no close_notify sent."""
    return socket.socket(fileno=t.detach())


def handle(c, mode, ctx):
    try:
        if mode in ("hs_close", "hs_rst", "alert", "plain"):
            c.recv(4096)
            if mode == "hs_close":
                c.close()
            elif mode == "hs_rst":
                reset(c)
            elif mode == "plain":
                c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0"
                          b"\r\nConnection: close\r\n\r\n")
                time.sleep(0.2)
                c.close()
            else:
                c.sendall(ALERT_HANDSHAKE_FAILURE)
                time.sleep(0.2)
                c.close()
            return
        t = ctx.wrap_socket(c, server_side=True)
        if mode == "healthy":
            while read_request(t):
                t.sendall(OK)
            t.close()
            return
        if mode == "keepalive_rst_second":
            if read_request(t):
                t.sendall(OK)
                if read_request(t):
                    reset(raw_of(t))
                    return
            t.close()
            return
        if not read_request(t):
            t.close()
            return
        if mode in ("mid_rst", "mid_fin"):
            t.sendall(HEAD + b"x" * 1000)
            time.sleep(0.2)
        if mode == "notify_wait":
            t.unwrap()
            c.close()
            return
        raw = raw_of(t)
        if mode in ("rst_wait", "mid_rst"):
            reset(raw)
        else:
            raw.close()
    except (ssl.SSLError, OSError) as e:
        print("connection: %s" % e, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--max-seconds", type=float, default=40)
    a = ap.parse_args()
    ip, _, port = a.listen.rpartition(":")
    ip = ip.strip("[]")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port)))
    s.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.alarm(int(a.max_seconds))
    print("listening on %s" % a.listen, flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, a.mode, ctx),
                         daemon=True).start()


if __name__ == "__main__":
    main()
