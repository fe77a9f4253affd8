#!/usr/bin/python3
# Runs a Python program that binds its listening socket to 0.0.0.0 (the
# reference implementation's capfd does) on one loopback address instead:
# ctlkit's tests stay on 127.0.0.0/8. The program itself is not changed.
#
#   bind_loopback.py 127.0.0.x PROGRAM [ARGS...]
import runpy
import socket
import sys

address = sys.argv[1]
program = sys.argv[2]
real_bind = socket.socket.bind


def loopback_bind(sock, where):
    if isinstance(where, tuple) and where[0] in ('', '0.0.0.0'):
        where = (address,) + tuple(where[1:])
    return real_bind(sock, where)


socket.socket.bind = loopback_bind
sys.argv = [program] + sys.argv[3:]
runpy.run_path(program, run_name='__main__')
