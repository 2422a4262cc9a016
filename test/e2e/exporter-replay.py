"""Serves a captured neuron-monitor-prometheus.py exposition again, through prometheus_client, as the exporter does.

neuron-monitor-prometheus.py (aws-neuronx-tools) keeps Counter and Gauge families with labels in prometheus_client's
default registry, beside its process, platform and gc collectors, and serves them with start_http_server. This
replays a capture's families and samples that way, so the test can compare what the installed prometheus_client
serves (names, suffixes, *_created series, runtime families) with the capture that the relabelling is tested on.

usage: exporter-replay.py CAPTURE.prom   prints "listening <port>" on stdout, serves until stdin closes
"""
import re
import sys

from prometheus_client import Counter, Gauge, start_http_server

RUNTIME = re.compile(r"^(python_gc_.*|python_info|process_.*)$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def main(path):
    types, helps, samples = {}, {}, []
    with open(path, encoding="utf-8") as capture:
        for line in capture:
            line = line.rstrip("\n")
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                types[name] = kind
            elif line.startswith("# HELP "):
                _, _, name, text = (line.split(" ", 3) + [""])[:4]
                helps[name] = text
            elif line and not line.startswith("#"):
                match = SAMPLE.match(line)
                if not match:
                    raise SystemExit(f"unparseable sample line: {line}")
                labels = dict(LABEL.findall(match.group(2) or ""))
                samples.append((match.group(1), labels, float(match.group(3))))

    families = {}
    for name, labels, value in samples:
        if RUNTIME.match(name) or name.endswith("_created"):
            continue  # the default collectors and prometheus_client itself make these
        kind = types.get(name)
        if kind == "counter":
            base = name[: -len("_total")] if name.endswith("_total") else name
            family = families.get(name) or Counter(base, helps.get(name, base), sorted(labels))
            (family.labels(**labels) if labels else family).inc(value)
        elif kind == "gauge":
            family = families.get(name) or Gauge(name, helps.get(name, name), sorted(labels))
            (family.labels(**labels) if labels else family).set(value)
        else:
            raise SystemExit(f"{name}: the replay knows counter and gauge families only, not {kind}")
        families[name] = family

    server, _ = start_http_server(0, addr="127.0.0.1")
    print(f"listening {server.server_port}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1])
