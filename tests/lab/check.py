#!/usr/bin/env python3
"""Assertions of one nginx lab scenario (tests/lab/run writes DIR).

  check.py DIR

DIR holds wire.jsonl (wire.py on cap.pcap), expect.json (from the
scenario file), meta.json (addresses), error.log, access.log, curl.txt
(one http_code per transfer), live.jsonl, offline.jsonl and optionally
offline-any.jsonl.

(0) the lab: wire.py's reading of cap.pcap shows the connection facts the
    scenario expects (first_close, rst senders): the lab did what it meant.
(1) nginx: error.log holds the scenario's exact message(s) at the expected
    level, curl saw the expected status(es); "clean" scenarios have no line
    at [warn] or above.  "outcomes" lists alternatives for racy scenarios.
(2) rstdiag live: for each expected connection ("conns"), a connection
    record whose server is that leg's address matches first_close {by,
    kind}, the rst senders, and, once rstdiag emits them, phase and the
    requests' framing/status.  Missing keys are skipped with a note.
(3) rstdiag offline on the recorded pcap gives the same per-connection
    (client, server, first_close.by, first_close.kind, len(rst)) as live.
(4) legs (issue 13), live and offline: every record whose server is
    nginx's listen address is a "client_leg", every record whose server
    is up1/up2 an "upstream_leg"; an upstream leg that carried a request
    names client legs in paired_with and says how ("pairing": request_line,
    forwarded_header, request_id or timing); the client leg's verdict and
    cause as the scenario expects (conns entries with "leg": "nginx").

(5) what the client got, by the version table (nginx_client_gets,
    nginx_client_status on an upstream leg's verdict), against curl's
    status and access.log, for single-request runs ("retried": a retry
    shows in $upstream_status).
(6) rstdiag with --nginx-conf (nginx -T of the run's nginx, nginx-T.txt)
    gives the same verdicts, and the scenario's "fix_edit" {leg,
    directive, current, where, set, side} holds; "where" is "default" or
    a text of nginx.conf, which becomes nginx.conf:LINE; "set_re" instead
    of "set" is a regular expression for a measured value.

(7) --error-log (needs RSTDIAG): every [error]/[warn]/[info] line naming
    an upstream is joined with a connection to that upstream; also with
    the log shifted to +05:30 and rotated (.2.gz, .1; offset from the
    data) and with --error-log-tz +0530.

(0) also holds the topology (meta.json) against the wire: the client legs
come from client_ip, the upstream legs from nginx_source_ip, and nothing
else was captured.

Exit 0 pass, 1 fail.  LAB_SKIP_RSTDIAG=1 checks (0) and (1) only.
LAB_LEGS_PENDING=1 turns failures of (4) into notes (the C side of issue
13 lands after the lab); by default they fail.

expect.json keys:
  outcomes: [{"status": ["502", ...], "log": [["error", "text"], ...],
              "access": ["substring", ...],
              "access_status": ["502", ...],
              "upstream_status": ["502, 200", ...]}, ...]
             (any one must hold)
  status, log, access, access_status, upstream_status: shorthand for a
             single outcome
  access_status / upstream_status: access.log's $status / $upstream_status
             of each request, in the order of the log (a string: the same
             for every line)
  clean: true  -> no [warn]/[error]/[crit]/[alert]/[emerg] line at all
  oracle_pending: "why" -> failures of the verdict <-> error.log oracle
                are notes, not failures (FastCGI legs until rstdiag reads
                FastCGI, issue 8)
  legs_pending: "why" -> every failure of (2) counts as one of (4): the
                scenario can be judged only with the legs paired
  (an oracle failure on a record that rstdiag took for the wrong leg
  counts as one of (4) too)
  conns: [{"leg": "up1"|"up2"|"nginx", "all": false,
           "first_close": {"by": "server", "kind": "rst"} or null,
           "rst_by": ["server"], "no_rst": true,
           "phase": "awaiting_response_header",
           "framing": "truncated", "resp_status": 200,
           "zero_window": {"by": "client", "at_close": true,
                           "min_seconds": 1.0}}]
  zero_window: a zero_window entry of that side (wire.py's and
  rstdiag's), still shut at the other side's first close or not (when
  at_close is given), shut at least min_seconds in all
  on the client leg ("leg": "nginx"), checked as (4):
           "verdict": "bad_gateway", "cause": "upstream_refused" (the
           verdict of the upstream leg that caused it; both in one
           record), "no_error_verdict": true (no record of the leg has
           severity error: nginx retried and the client got its answer)
  framing is the primary framing finding of a response (rd_http1_finding
  names: complete, truncated, excess, invalid_chunked, cl_and_te,
  chunked_to_http10, close_delimited, no_body, ...); it must be among the
  connection's requests[].framing, as resp_status among requests[].status.
"""

import json
import subprocess
import os
import re
import sys

BAD_LEVELS = ('warn', 'error', 'crit', 'alert', 'emerg')
LOG_RE = re.compile(r'^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: '
                    r'(?:\*\d+ )?(.*)$')


class Result:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.notes = []

    def fail(self, what):
        self.failures.append(what)

    def note(self, what):
        self.notes.append(what)

    def pending(self, what):
        """An assertion of (4): a failure unless LAB_LEGS_PENDING=1."""
        if os.environ.get('LAB_LEGS_PENDING') == '1':
            self.notes.append(what + ' (pending: LAB_LEGS_PENDING=1)')
        else:
            self.failures.append(what)


def read_lines(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read().splitlines()
    except OSError:
        return []


def parse_error_log(path):
    """[(level, message-with-context)] for every log line."""
    out = []
    for line in read_lines(path):
        m = LOG_RE.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def log_has(entries, level, text):
    """The message must be the whole text before nginx's ', client:'
    context (or the end of the line): exact, not a substring.  A text
    ending in '{PATH}' matches any path from there on (the lab's docroot
    depends on where the tree is)."""
    for lvl, msg in entries:
        if lvl != level:
            continue
        head = msg.split(', client: ', 1)[0]
        if text.endswith('{PATH}'):
            if head.startswith(text[:-len('{PATH}')]):
                return True
        elif head == text:
            return True
    return False


# the lab's log_format: $remote_addr "$request" $status "$upstream_status"
# "$upstream_addr" $body_bytes_sent
ACCESS_RE = re.compile(r'^(\S+) "(.*)" (\d{3}) "([^"]*)" "([^"]*)" (\d+)$')


def access_fields(access):
    """[(status, upstream_status)] per access.log line; None for a line
    that does not parse."""
    out = []
    for line in access:
        m = ACCESS_RE.match(line)
        out.append((m.group(3), m.group(4)) if m else None)
    return out


def check_outcome(outcome, entries, statuses, access):
    """None if the outcome holds, else a list of reasons."""
    why = []
    want = outcome.get('status')
    if want is not None and statuses != list(want):
        why.append('curl status %s, expected %s' % (statuses, list(want)))
    for level, text in outcome.get('log', []):
        if not log_has(entries, level, text):
            why.append('error.log lacks [%s] "%s"' % (level, text))
    for sub in outcome.get('access', []):
        if not any(sub in line for line in access):
            why.append('access.log lacks "%s"' % sub)
    fields = access_fields(access)
    for key, i in (('access_status', 0), ('upstream_status', 1)):
        want = outcome.get(key)
        if want is None:
            continue
        if isinstance(want, str):
            want = [want] * max(len(fields), 1)
        got = [f[i] if f else '?' for f in fields]
        if got != list(want):
            why.append('access.log %s %s, expected %s'
                       % ('$status' if i == 0 else '$upstream_status',
                          got, list(want)))
    return why or None


def assert_nginx(res, d, expect):
    entries = parse_error_log(os.path.join(d, 'error.log'))
    statuses = [s.strip() for s in read_lines(os.path.join(d, 'curl.txt'))]
    access = read_lines(os.path.join(d, 'access.log'))

    outcomes = expect.get('outcomes')
    if outcomes is None:
        outcomes = [{k: expect[k] for k in ('status', 'log', 'access',
                                            'access_status',
                                            'upstream_status')
                     if k in expect}]
    reasons = []
    for i, oc in enumerate(outcomes):
        why = check_outcome(oc, entries, statuses, access)
        if why is None:
            if len(outcomes) > 1:
                res.note('(1) nginx took alternative %d of %d: %s'
                         % (i + 1, len(outcomes), oc.get('label', '')))
            break
        reasons.append(why)
    else:
        for i, why in enumerate(reasons):
            pre = '(1) ' if len(reasons) == 1 else \
                '(1) alternative %d: ' % (i + 1)
            res.fail(pre + '; '.join(why))

    if expect.get('clean'):
        bad = [(lvl, msg) for lvl, msg in entries if lvl in BAD_LEVELS]
        for lvl, msg in bad:
            res.fail('(1) clean scenario but error.log has [%s] %s'
                     % (lvl, msg))


def load_jsonl(path):
    """(connection records, has_summary, bad_lines)."""
    conns = []
    summary = False
    bad = 0
    for line in read_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if not isinstance(obj, dict):
            bad += 1
        elif obj.get('type') == 'connection':
            conns.append(obj)
        elif obj.get('type') == 'summary':
            summary = True
    return conns, summary, bad


def rst_senders(conn):
    return sorted({r.get('by') for r in conn.get('rst') or []})


def describe(conn):
    fc = conn.get('first_close')
    fc = '%s %s' % (fc.get('by'), fc.get('kind')) if fc else 'open'
    return '%s->%s first_close=%s rst_by=%s phase=%s' % (
        conn.get('client'), conn.get('server'), fc, rst_senders(conn),
        conn.get('phase', '-'))


def match_conn(conn, want, res, notes):
    """List of mismatches between one record and one expectation."""
    why = []
    if 'first_close' in want:
        w = want['first_close']
        got = conn.get('first_close')
        if w is None:
            if got is not None:
                why.append('first_close %s, expected none' % got)
        elif got is None:
            why.append('first_close none, expected %s %s'
                       % (w['by'], w['kind']))
        else:
            for k in ('by', 'kind'):
                if k in w and got.get(k) != w[k]:
                    why.append('first_close.%s=%s, expected %s'
                               % (k, got.get(k), w[k]))
    if 'rst_by' in want:
        got = rst_senders(conn)
        for by in want['rst_by']:
            if by not in got:
                why.append('no rst by %s (rst by %s)' % (by, got))
    if want.get('no_rst') and conn.get('rst'):
        why.append('rst present (by %s), expected none' % rst_senders(conn))
    if 'zero_window' in want:
        w = want['zero_window']
        got = [z for z in conn.get('zero_window') or []
               if z.get('by') == w['by']]
        if 'zero_window' not in conn:
            notes.add('zero_window not in the output: check skipped')
        elif not got:
            why.append('no zero window by %s (zero_window %s)'
                       % (w['by'], conn.get('zero_window')))
        else:
            z = got[0]
            if 'at_close' in w and z.get('at_close') != w['at_close']:
                why.append('zero_window by %s at_close=%s, expected %s'
                           % (w['by'], z.get('at_close'), w['at_close']))
            if z.get('seconds', 0) < w.get('min_seconds', 0):
                why.append('zero_window by %s %.3f s, expected at least %s'
                           % (w['by'], z.get('seconds', 0),
                              w['min_seconds']))
    if 'phase' in want:
        if 'phase' not in conn:
            notes.add('phase not in rstdiag output yet: phase check skipped')
        elif conn['phase'] != want['phase']:
            why.append('phase=%s, expected %s' % (conn['phase'],
                                                  want['phase']))
    for key, field in (('framing', 'framing'), ('resp_status', 'status')):
        if key not in want:
            continue
        reqs = conn.get('requests')
        if reqs is None:
            notes.add('requests not in rstdiag output yet: %s check '
                      'skipped' % key)
            continue
        vals = [r.get(field) for r in reqs if isinstance(r, dict)]
        if want[key] not in vals:
            why.append('requests %s=%s, expected %s among them'
                       % (field, vals, want[key]))
    return why


def assert_conns(res, path, expect, meta, tag, what, wire=False):
    """Hold expect['conns'] against the connection records in path."""
    conns, summary, bad = load_jsonl(path)
    if bad:
        res.fail('%s %s has %d lines that are not JSON objects'
                 % (tag, os.path.basename(path), bad))
    if not conns and not summary:
        res.fail('%s %s printed no JSON records (see %s)'
                 % (tag, what, os.path.basename(path)))
        return conns
    if not summary:
        res.fail('%s %s has no summary line' % (tag, os.path.basename(path)))
    notes = set()
    for want in expect.get('conns', []):
        if wire:
            # The lab's own reading knows nothing about HTTP.
            want = {k: v for k, v in want.items()
                    if k not in ('phase', 'framing', 'resp_status',
                                 'paired', 'verdict', 'cause',
                                 'no_error_verdict')}
        addr = meta['legs'][want['leg']]
        cands = [c for c in conns if c.get('server') == addr]
        if not cands:
            res.fail('%s no connection to %s (%s) in %s; servers seen: %s'
                     % (tag, want['leg'], addr, what,
                        sorted({str(c.get('server')) for c in conns})))
            continue
        results = [(c, match_conn(c, want, res, notes)) for c in cands]
        if want.get('all'):
            bad_ones = [(c, why) for c, why in results if why]
        elif any(not why for _, why in results):
            bad_ones = []
        else:
            bad_ones = results
        for c, why in bad_ones:
            res.fail('%s %s: %s: %s' % (tag, want['leg'], describe(c),
                                        '; '.join(why)))
    for n in sorted(notes):
        res.note('%s %s' % (tag, n))
    return conns


def tuples(conns):
    out = []
    for c in conns:
        fc = c.get('first_close') or {}
        out.append((str(c.get('client')), str(c.get('server')),
                    str(fc.get('by')), str(fc.get('kind')),
                    len(c.get('rst') or []), str(c.get('verdict')),
                    str(c.get('phase'))))
    return sorted(out)


def assert_offline(res, d, live, meta):
    ifaces = meta.get('ifaces', 'lo').split()
    files = ['offline.jsonl'] + ['offline-%s.jsonl' % i
                                 for i in ifaces if i != 'lo']
    want = tuples(live)
    for name in files:
        conns, summary, bad = load_jsonl(os.path.join(d, name))
        if bad:
            res.fail('(3) %s has %d lines that are not JSON objects'
                     % (name, bad))
        if not conns and not summary:
            res.fail('(3) rstdiag -r printed no JSON records into %s' % name)
            continue
        got = tuples(conns)
        if got != want:
            only_live = [t for t in want if t not in got]
            only_off = [t for t in got if t not in want]
            res.fail('(3) %s differs from live: only live %s; only offline'
                     ' %s' % (name, only_live, only_off))


# error.log lines that no connection verdict explains, by design
ORACLE_IGNORE = (
    'upstream server temporarily disabled',
    'a client request body is buffered to a temporary file',
)


def assert_oracle(res, d, live, expect):
    """nginx is the oracle, both ways: every message a verdict names is in
    error.log at its level, and every [error]/[warn] line about an upstream
    is named by some verdict."""
    entries = parse_error_log(os.path.join(d, 'error.log'))
    heads = [(lvl, msg.split(', client: ', 1)[0]) for lvl, msg in entries]
    named = set()
    for c in live:
        msg = c.get('nginx_message')
        if 'verdict' not in c:
            res.note('(2) verdicts not in rstdiag output yet')
            return
        if not msg:
            continue
        named.add(msg)
        lvl = c.get('nginx_log_level')
        # STDERR text is kept in part: nginx's line starts with it
        if msg.startswith('FastCGI sent in stderr: "'):
            found = any(l == lvl and h.startswith(msg) for l, h in heads)
        else:
            found = (lvl, msg) in heads
        if not found:
            why = ('(2) %s %s says nginx logged [%s] "%s", error.log does '
                   'not have it' % (c.get('server'), c.get('verdict'), lvl,
                                    msg))
            wrong = misread_leg(d, c)
            if expect.get('racy'):
                res.note(why + ' (racy scenario)')
            elif expect.get('oracle_pending'):
                res.note(why + ' (pending: %s)' % expect['oracle_pending'])
            elif wrong:
                # judged as the wrong leg: (4) says so; this follows
                res.pending(why + ' (%s)' % wrong)
            else:
                res.fail(why)
    for lvl, head in heads:
        if lvl not in ('error', 'warn') or 'upstream' not in head:
            continue
        if any(i in head for i in ORACLE_IGNORE):
            continue
        if head not in named:
            why = ('(2) error.log has [%s] "%s" but no verdict names it'
                   % (lvl, head))
            if expect.get('racy'):
                res.note(why + ' (racy scenario)')
            elif expect.get('oracle_pending'):
                res.note(why + ' (pending: %s)' % expect['oracle_pending'])
            else:
                res.fail(why)
    if expect.get('no_findings'):
        for c in live:
            if c.get('severity') in ('error', 'warning'):
                res.fail('(2) healthy scenario but %s has verdict %s (%s)'
                         % (c.get('server'), c.get('verdict'),
                            c.get('severity')))
    for want in expect.get('conns', []):
        if 'verdict' not in want or want['leg'] == 'nginx':
            continue            # the client leg's verdict is (4)
        addr = meta_addr(d, want['leg'])
        got = [c.get('verdict') for c in live if c.get('server') == addr]
        if want['verdict'] not in got:
            res.fail('(2) %s: verdicts %s, expected %s'
                     % (want['leg'], got, want['verdict']))


def assert_client_gets(res, d, live, expect):
    """(5): what the version table says the client gets (nginx_client_gets,
    nginx_client_status) is what curl and access.log show.  Upstream legs
    with a verdict; an attempt nginx retried elsewhere is not the last one,
    so only "retried" is held against it."""
    statuses = [s.strip() for s in read_lines(os.path.join(d, 'curl.txt'))]
    fields = [f for f in access_fields(read_lines(os.path.join(d,
                                                              'access.log')))
              if f]
    fail = res.note if expect.get('racy') else res.fail
    for c in live:
        gets = c.get('nginx_client_gets')
        if not gets or c.get('leg') != 'upstream_leg':
            continue
        tag = '(5) %s %s (client gets %s %s)' % (
            c.get('server'), c.get('verdict'), gets,
            c.get('nginx_client_status'))
        if gets == 'retried':
            if not any(',' in up for _, up in fields):
                fail('%s: no access.log line shows a retry (%s)'
                         % (tag, fields))
            continue
        if len(fields) != 1 or len(statuses) != 1:
            continue            # which request it was is not known here
        status, up = fields[0]
        if ',' in up:
            continue            # not nginx's last attempt
        curl = statuses[0]
        reqs = c.get('requests') or []
        upstream = str(reqs[-1].get('status')) if reqs else None
        want = {'error_page': (str(c.get('nginx_client_status')),) * 2,
                'cut_response': (upstream, upstream),
                'whole_response': (upstream, upstream),
                'no_response': ('000', None),
                'client_gone': (None, str(c.get('nginx_client_status')))
                }.get(gets)
        if want is None:
            fail('%s: unknown nginx_client_gets' % tag)
            continue
        if want[0] is not None and curl != want[0]:
            fail('%s: curl got %s, expected %s' % (tag, curl, want[0]))
        if want[1] is not None and status != want[1]:
            fail('%s: access.log $status %s, expected %s'
                     % (tag, status, want[1]))


def conf_line(d, pattern):
    """'DIR/nginx.conf:N' for the first line of nginx.conf holding
    pattern, None if none does."""
    path = os.path.join(d, 'nginx.conf')
    for i, line in enumerate(read_lines(path), 1):
        if pattern in line:
            return '%s:%d' % (path, i)
    return None


def assert_fix_edit(res, d, expect, meta, offline):
    """(6): with --nginx-conf (nginx -T of this run's nginx) the verdicts
    are those without it, and the scenario's fix_edit holds: directive,
    value in force, where ("default" or a text of nginx.conf whose line
    it is), the value to set and the side."""
    path = os.path.join(d, 'offline-conf.jsonl')
    conns, summary, bad = load_jsonl(path)
    if bad or not summary:
        res.fail('(6) %s: %d bad lines, summary %s (see offline-conf.err)'
                 % (os.path.basename(path), bad, summary))
        return
    verdicts = lambda cs: sorted((str(c.get('client')), str(c.get('server')),
                                  str(c.get('verdict'))) for c in cs)
    if verdicts(conns) != verdicts(offline):
        res.fail('(6) verdicts with --nginx-conf %s differ from without %s'
                 % (verdicts(conns), verdicts(offline)))
    want = expect.get('fix_edit')
    if want is None:
        for c in conns:
            if c.get('fix_edit') and c.get('severity') in ('error',
                                                           'warning'):
                res.note('(6) %s %s: fix_edit %s (not asserted)'
                         % (c.get('server'), c.get('verdict'),
                            c['fix_edit']))
        return
    addr = meta['legs'][want['leg']]
    got = [c.get('fix_edit') for c in conns
           if c.get('server') == addr and c.get('fix_edit')]
    if not got:
        res.fail('(6) no %s record (%s) with fix_edit in %s'
                 % (want['leg'], addr, os.path.basename(path)))
        return
    where = want.get('where', 'default')
    if where != 'default':
        line = conf_line(d, where)
        if line is None:
            res.fail('(6) nginx.conf has no line with "%s"' % where)
            return
        where = line
    wanted = {'directive': want['directive'], 'current': want['current'],
              'where': where, 'side': want['side']}
    if 'set_re' in want:
        wanted['set ~'] = want['set_re']
    else:
        wanted['set'] = want.get('set')
    for fe in got:
        if (all(fe.get(k) == v for k, v in wanted.items() if k != 'set ~')
                and ('set ~' not in wanted
                     or re.search(wanted['set ~'], str(fe.get('set'))))):
            return
    res.fail('(6) %s: fix_edit %s, expected %s' % (want['leg'], got, wanted))


UPSTREAM_RE = re.compile(r', upstream: "[a-z]+://(\[[^\]]+\]|[^:/"]+):(\d+)')


def run_rstdiag(args):
    """rstdiag's JSON lines for args (RSTDIAG from the runner)."""
    out = subprocess.run([os.environ['RSTDIAG']] + args + ['--json', '--all'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=60)
    if out.returncode not in (0, 1):
        return None, out.stderr.decode(errors='replace')
    return [json.loads(l) for l in out.stdout.decode().splitlines()
            if l.strip()], None


def errlog_matches(objs):
    """{message-and-upstream: server of the connection it was joined to}."""
    got = {}
    for o in objs:
        if o.get('type') != 'connection':
            continue
        for m in o.get('error_log') or []:
            got.setdefault((m['level'], m['message']), []).append(
                (o.get('server'), m.get('line')))
    return got


def shift_log(src, dst_old, dst_new, secs):
    """The lines of src shifted by secs, the first half gzip'd (dst_old,
    as logrotate's .2.gz), the rest plain (dst_new)."""
    import datetime
    import gzip
    lines = read_lines(src)
    out = []
    for line in lines:
        m = re.match(r'^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})(.*)$', line)
        if m:
            t = datetime.datetime.strptime(m.group(1), '%Y/%m/%d %H:%M:%S')
            t += datetime.timedelta(seconds=secs)
            line = t.strftime('%Y/%m/%d %H:%M:%S') + m.group(2)
        out.append(line + '\n')
    half = len(out) // 2
    with gzip.open(dst_old, 'wt') as f:
        f.writelines(out[:half])
    with open(dst_new, 'w') as f:
        f.writelines(out[half:])


def assert_error_log(res, d, meta, expect):
    """(7) --error-log: every [error]/[warn]/[info] line that names an
    upstream is joined with a connection to that upstream, none is left
    unmatched; the same holds for the log shifted to +05:30 and rotated
    into a .2.gz and a .1 given newest first (the offset found from the
    data), and with --error-log-tz +0530."""
    if 'RSTDIAG' not in os.environ:
        res.note('(7) skipped: RSTDIAG not set')
        return
    fail = res.note if expect.get('racy') else res.fail
    log = os.path.join(d, 'error.log')
    want = []
    for lvl, msg in parse_error_log(log):
        m = UPSTREAM_RE.search(msg)
        if lvl in ('error', 'warn', 'info') and m:
            host = m.group(1)
            want.append((lvl, msg.split(', client: ', 1)[0],
                         '%s:%s' % (host, m.group(2))))
    old = os.path.join(d, 'error-shifted.log.2.gz')
    new = os.path.join(d, 'error-shifted.log.1')
    shift_log(log, old, new, 5 * 3600 + 1800)
    cap = os.path.join(d, 'cap.pcap')
    runs = (('plain', ['-r', cap, '--error-log', log], None),
            ('+05:30 rotated', ['-r', cap, '--error-log', new,
                                '--error-log', old], '+0530'),
            ('+05:30 --error-log-tz', ['-r', cap, '--error-log', new,
                                       '--error-log', old,
                                       '--error-log-tz', '+0530'], '+0530'))
    for name, args, off in runs:
        objs, err = run_rstdiag(args)
        if objs is None:
            res.fail('(7) %s: rstdiag failed: %s' % (name, err))
            continue
        got = errlog_matches(objs)
        contract = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', '..', 'shared', 'tools',
                                'json-contract')
        if name == 'plain' and os.path.exists(contract):
            cc = subprocess.run([sys.executable, contract, '--stdin'],
                                input='\n'.join(json.dumps(o) for o in objs),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
            if cc.returncode != 0:
                res.fail('(7) json-contract on the --error-log output: %s'
                         % cc.stdout.strip()[-300:])
        summ = [o for o in objs if o.get('type') == 'summary']
        el = summ[0].get('error_log') if summ else None
        if el is None:
            res.fail('(7) %s: no error_log in the summary' % name)
            continue
        # the offset is found from lines whose message a verdict
        # predicts: from a log with none, neither it nor the join follows
        rfail = (res.note if expect.get('offset_pending')
                 and name == '+05:30 rotated' else fail)
        if off and want and el.get('offset') != off:
            rfail('(7) %s: offset %s (from %s), expected %s'
                 % (name, el.get('offset'), el.get('offset_from'), off))
        for lvl, msg, up in want:
            servers = [s for s, _ in got.get((lvl, msg), [])]
            if up not in servers:
                rfail('(7) %s: [%s] "%s" (upstream %s) joined with %s'
                      % (name, lvl, msg, up, servers or 'no connection'))
        for o in objs:
            if (o.get('type') == 'error_log'
                    and o.get('reason') == 'no_connection'):
                rfail('(7) %s: error.log line %s "%s" matched no connection'
                     % (name, o.get('line'), o.get('message')))


def host_of(addr):
    """'127.0.0.2' of '127.0.0.2:21000', '::1' of '[::1]:23000'."""
    return str(addr).rsplit(':', 1)[0].strip('[]')


def assert_topology(res, wire, meta):
    """(0): the lab built the topology meta.json describes: client legs
    from client_ip, upstream legs from nginx's source address, nothing
    else on the capture (the filter selects this run only)."""
    legs = meta['legs']
    ups = (legs['up1'], legs['up2'])
    for c in wire:
        server, client = c.get('server'), host_of(c.get('client'))
        if server == legs['nginx']:
            want = meta.get('client_ip')
        elif server in ups:
            want = meta.get('nginx_source_ip')
        else:
            res.fail('(0) connection %s->%s is to none of the legs %s'
                     % (c.get('client'), server, legs))
            continue
        if want and client != want:
            res.fail('(0) %s->%s: from %s, expected %s in topology %s%s'
                     % (c.get('client'), server, client, want,
                        meta.get('topology'), meta.get('flavour', '')))


PAIRINGS = ('request_line', 'forwarded_header', 'request_id', 'timing')


def assert_legs(res, conns, meta, tag, name):
    """(4), generic: leg names by address, upstream legs paired with
    client legs."""
    legs = meta['legs']
    ups = (legs['up1'], legs['up2'])
    client_ids = {c.get('id') for c in conns
                  if c.get('server') == legs['nginx']
                  and c.get('leg') == 'client_leg'}
    for c in conns:
        server = c.get('server')
        if server == legs['nginx']:
            want = 'client_leg'
        elif server in ups:
            want = 'upstream_leg'
        else:
            continue
        if c.get('leg') != want:
            res.pending('%s %s: id %s %s->%s is leg %s, expected %s'
                        % (tag, name, c.get('id'), c.get('client'), server,
                           c.get('leg'), want))
            continue
        if want != 'upstream_leg' or not c.get('requests'):
            continue
        pw = c.get('paired_with') or []
        if not pw:
            res.pending('%s %s: upstream leg id %s %s->%s carried %d '
                        'request(s) but paired_with is empty'
                        % (tag, name, c.get('id'), c.get('client'), server,
                           len(c['requests'])))
        elif not all(i in client_ids for i in pw):
            res.pending('%s %s: upstream leg id %s paired_with %s, client '
                        'leg ids are %s' % (tag, name, c.get('id'), pw,
                                            sorted(client_ids)))
        if pw and c.get('pairing') not in PAIRINGS:
            res.pending('%s %s: upstream leg id %s pairing=%s, expected '
                        'one of %s' % (tag, name, c.get('id'),
                                       c.get('pairing', '(no key)'),
                                       ', '.join(PAIRINGS)))


def assert_paired(res, conns, expect, meta, tag, name):
    """(4), per scenario: "paired": true on an upstream leg entry."""
    for want in expect.get('conns', []):
        if not want.get('paired'):
            continue
        addr = meta['legs'][want['leg']]
        cands = [c for c in conns if c.get('server') == addr]
        got = [bool(c.get('paired_with')) for c in cands]
        if cands and not (all(got) if want.get('all') else any(got)):
            res.pending('%s %s: %s (%s): paired_with empty, expected the '
                        'other leg' % (tag, name, want['leg'], addr))


def assert_client_leg(res, conns, expect, meta, tag, name):
    """(4), per scenario: the client leg's verdict and cause."""
    addr = meta['legs']['nginx']
    cands = [c for c in conns if c.get('server') == addr]
    for want in expect.get('conns', []):
        if want['leg'] != 'nginx':
            continue
        if want.get('no_error_verdict'):
            for c in cands:
                if c.get('severity') == 'error':
                    res.pending('%s %s: client leg id %s has error verdict '
                                '%s (cause %s), expected none'
                                % (tag, name, c.get('id'), c.get('verdict'),
                                   c.get('cause')))
        keys = [k for k in ('verdict', 'cause') if k in want]
        if not keys or not cands:
            continue            # no record at all: assert_conns said so
        got = [tuple(c.get(k) for k in keys) for c in cands]
        wanted = tuple(want[k] for k in keys)
        if want.get('all'):
            ok = all(g == wanted for g in got)
        else:
            ok = wanted in got
        if not ok:
            res.pending('%s %s: client leg (%s) %s %s, expected %s'
                        % (tag, name, addr, '/'.join(keys), got, wanted))


def misread_leg(d, c):
    """Why a record's leg is wrong for its server address, or None."""
    with open(os.path.join(d, 'meta.json')) as f:
        legs = json.load(f)['legs']
    if c.get('server') == legs['nginx']:
        want = 'client_leg'
    elif c.get('server') in (legs['up1'], legs['up2']):
        want = 'upstream_leg'
    else:
        return None
    if c.get('leg') == want:
        return None
    return 'rstdiag took this %s for leg %s' % (want, c.get('leg'))


def meta_addr(d, leg):
    with open(os.path.join(d, 'meta.json')) as f:
        return json.load(f)['legs'][leg]


def main():
    if len(sys.argv) != 2:
        print('usage: check.py DIR', file=sys.stderr)
        return 2
    d = sys.argv[1]
    with open(os.path.join(d, 'meta.json')) as f:
        meta = json.load(f)
    with open(os.path.join(d, 'expect.json')) as f:
        expect = json.load(f)
    res = Result(meta.get('test', meta['scenario']))

    wire = assert_conns(res, os.path.join(d, 'wire.jsonl'), expect, meta,
                        '(0)', 'wire.py (the lab\'s own reading of '
                        'cap.pcap)', wire=True)
    assert_topology(res, wire, meta)
    assert_nginx(res, d, expect)
    if os.environ.get('LAB_SKIP_RSTDIAG') == '1':
        res.note('(2)(3) skipped: LAB_SKIP_RSTDIAG=1')
    else:
        before = len(res.failures)
        live = assert_conns(res, os.path.join(d, 'live.jsonl'), expect,
                            meta, '(2)', 'rstdiag live (is it still a '
                            'stub?)')
        if live:
            assert_oracle(res, d, live, expect)
            assert_client_gets(res, d, live, expect)
        if expect.get('legs_pending') and live:
            # rstdiag can judge this scenario only with its legs paired
            moved = res.failures[before:]
            del res.failures[before:]
            for f in moved:
                res.pending(f + ' (needs legs: %s)' % expect['legs_pending'])
            assert_offline(res, d, live, meta)
        assert_error_log(res, d, meta, expect)
        offline = load_jsonl(os.path.join(d, 'offline.jsonl'))[0]
        if os.path.exists(os.path.join(d, 'nginx-T.txt')):
            assert_fix_edit(res, d, expect, meta, offline)
        for name in ['live.jsonl', 'offline.jsonl']:
            conns = load_jsonl(os.path.join(d, name))[0]
            if conns:
                assert_legs(res, conns, meta, '(4)', name)
                assert_paired(res, conns, expect, meta, '(4)', name)
                assert_client_leg(res, conns, expect, meta, '(4)', name)

    for n in res.notes:
        print('note lab.%s: %s' % (res.name, n))
    if res.failures:
        for f in res.failures:
            print('FAIL lab.%s: %s' % (res.name, f))
        print('--- error.log (%s)' % os.path.join(d, 'error.log'))
        for line in read_lines(os.path.join(d, 'error.log')):
            if '[notice]' not in line:
                print('  ' + line)
        print('--- access.log')
        for line in read_lines(os.path.join(d, 'access.log')):
            print('  ' + line)
        return 1
    print('PASS lab.%s' % res.name)
    return 0


if __name__ == '__main__':
    sys.exit(main())
