#!/usr/bin/env python3
"""Load check of the reference acquirer (docs/journal.md, "Under load").

Run from the workspace root after `cargo build --workspace`:
    python3 acquirer/load/load.py [target/debug]
It starts `emv-acquirer serve` in a temporary folder and reports: a 26 MB batch of
3.3 million small objects, a 1.8 MB batch of 600,000 objects, then 64 TLS clients
trickling one byte every 2 s (every connection slot) while a real `emv-terminal sync`
of 200 records runs; the acquirer's peak RSS (VmHWM) after each.
"""
import os, socket, ssl, subprocess, sys, tempfile, threading, time

bins = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug")
os.chdir(tempfile.mkdtemp(prefix="acq-load-"))
acq = subprocess.Popen([f"{bins}/emv-acquirer", "serve", "--listen", "127.0.0.1:0", "--db", "acq.db"],
                       stdout=subprocess.PIPE, text=True)
url = acq.stdout.readline().split()[-1]
acq.stdout.readline()
host, port = url.split("//")[1].split(":")
port = int(port)
ctx = ssl.create_default_context(cafile="acq.db.ca.pem")


def hwm():
    for line in open(f"/proc/{acq.pid}/status"):
        if line.startswith("VmHWM"):
            return line.split()[1] + " kB"


def post(body, send_body):
    s = ctx.wrap_socket(socket.create_connection((host, port)), server_hostname="127.0.0.1")
    s.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
    if send_body:
        s.sendall(body)
    return s.recv(200).split(b"\r\n")[0].decode()


print("start: peak rss", hwm())
big = b'{"terminal_id":"T","records":[' + b",".join([b'{"a":1}'] * 3_300_000) + b"]}"
print(f"batch of {len(big)} bytes, 3.3 M objects:", post(big, False), "; peak rss", hwm())
tiny = b'{"terminal_id":"T","records":[' + b",".join([b"{}"] * 600_000) + b"]}"
print(f"batch of {len(tiny)} bytes, 600,000 objects:", post(tiny, True), "; peak rss", hwm())
subprocess.run([f"{bins}/emv-terminal", "journal", "simulate", "--count", "200", "--delay-ms", "0",
                "--journal", "j.db", "--journal-key", "j.key"], capture_output=True, check=True)


def trickle(s):
    try:
        while True:
            s.send(b"P")
            time.sleep(2)
    except OSError:
        pass


slow = []
for _ in range(64):
    s = ctx.wrap_socket(socket.create_connection((host, port)), server_hostname="127.0.0.1")
    slow.append(s)
    threading.Thread(target=trickle, args=(s,), daemon=True).start()
started = time.time()
r = subprocess.run([f"{bins}/emv-terminal", "sync", "--url", url, "--ca", "acq.db.ca.pem",
                    "--journal", "j.db", "--journal-key", "j.key"], capture_output=True, text=True)
print(f"sync with 64 slow clients: exit {r.returncode} after {time.time() - started:.1f} s:", r.stdout.strip())
print("end: peak rss", hwm())
acq.kill()
