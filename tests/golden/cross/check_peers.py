#!/usr/bin/env python3
"""An oracle for rules 2 and 3 of README.md, independent of kgctl: the [Peer]s of
every expected node-N.ini of the cases given are exactly the ready nodes that are
in another location, or that lack a private IP, or all of them when N lacks one
(readiness from the case's results.json; location and private IP read from the
annotations here, in a few lines of Python).

Usage: check_peers.py GOLDEN_SAMPLE_DIR CASE...
"""
import json, os, re, sys, ipaddress
def cidr(v):
    if not v or '/' not in v: return None
    try: return ipaddress.ip_interface(v.strip())
    except ValueError: return None
gs, here = sys.argv[1], os.path.dirname(os.path.abspath(__file__))
failed = 0
for c in sys.argv[2:]:
    d=json.load(open(f'{gs}/{c}/input.json')); p=json.load(open(f'{gs}/{c}/params.json')); r=json.load(open(f'{gs}/{c}/results.json'))
    nodes={}
    for i in d['items']:
        if i['kind']!='Node': continue
        m=i['metadata']; a=m.get('annotations',{})
        if 'kilo.squat.ai/location' in a: loc=a['kilo.squat.ai/location']
        else: loc=m.get('labels',{}).get(p['topology_label'],'')
        f=a.get('kilo.squat.ai/force-internal-ip')
        if f is not None and f.strip() in ('','-'): priv=None
        else:
            priv=cidr(f) if f is not None else None
            if priv is None: priv=cidr(a.get('kilo.squat.ai/internal-ip'))
        nodes[m['name']]=dict(loc=loc,priv=priv,key=a.get('kilo.squat.ai/key'),ready=r['nodes'].get(m['name'],{}).get('ready'))
    bykey={v['key']:k for k,v in nodes.items()}
    bad=0
    for f in sorted(os.listdir(os.path.join(here, c))):
        mm=re.match(r'node-(.*)\.ini$',f)
        if not mm or f.endswith('.as-peer.ini'): continue
        n=mm.group(1)
        keys=re.findall(r'PublicKey = (\S+)', open(os.path.join(here, c, f)).read())
        got={bykey[k] for k in keys if k in bykey}
        want={o for o,v in nodes.items() if o!=n and v['ready'] and (v['loc']!=nodes[n]['loc'] or v['priv'] is None or nodes[n]['priv'] is None)}
        if got!=want:
            bad+=1; print(c,n,'got-want',sorted(got-want),'want-got',sorted(want-got))
    failed += bad
    print(c,'checked, mismatches:',bad)
sys.exit(1 if failed else 0)
