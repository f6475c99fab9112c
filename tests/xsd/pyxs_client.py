#!/usr/bin/python3
"""Exercises xsd with python3-pyxs (Debian's pure-Python xenstore client):
reads, writes, listing, permissions, a real transaction conflict (EAGAIN) and
watches. Usage: pyxs_client.py SOCKET. Exits non-zero on the first failure."""
import sys
import threading

from pyxs import Client, PyXSError

sock = sys.argv[1]


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


with Client(unix_socket_path=sock) as c:
    c.write(b"/py/a", b"1")
    check(c.read(b"/py/a") == b"1", "write then read")
    check(c.list(b"/py") == [b"a"], "list")
    check(c.exists(b"/py/a") and not c.exists(b"/py/none"), "exists")
    c.set_perms(b"/py/a", [b"b0", b"r3"])
    check(c.get_perms(b"/py/a") == [b"b0", b"r3"], "permissions round trip")

    # A transaction that commits.
    c.transaction()
    c.write(b"/py/t", b"in-tx")
    check(c.commit() is True, "transaction commits")
    check(c.read(b"/py/t") == b"in-tx", "committed value visible")

# A real conflict: two clients, one transaction each on the same node.
with Client(unix_socket_path=sock) as a, Client(unix_socket_path=sock) as b:
    a.transaction()
    a.read(b"/py/a")
    a.write(b"/py/a", b"from-a")
    b.write(b"/py/a", b"from-b")  # commits first, outside a transaction
    try:
        committed = a.commit()
    except PyXSError as e:
        committed = e.args[0] if e.args else e
    check(committed is False or "EAGAIN" in str(committed) or committed == 11,
          "conflicting commit fails with EAGAIN (got %r)" % (committed,))
    check(b.read(b"/py/a") == b"from-b", "the loser's write is not applied")

# Watches: initial event, then one per change below the watched path.
with Client(unix_socket_path=sock) as watcher, Client(unix_socket_path=sock) as writer:
    m = watcher.monitor()
    m.watch(b"/py/w", b"tok")
    events = []
    done = threading.Event()

    def collect():
        for ev in m.wait():
            events.append(ev)
            if len(events) == 3:
                done.set()
                return

    t = threading.Thread(target=collect, daemon=True)
    t.start()
    writer.write(b"/py/w/x", b"1")
    writer.delete(b"/py/w")
    check(done.wait(10), "three watch events arrived")
    paths = [ev.path for ev in events]
    check(paths == [b"/py/w", b"/py/w/x", b"/py/w"], "watch event paths %r" % (paths,))

print("pyxs: all checks passed")
