import json, statistics
import os
S=os.path.dirname(os.path.abspath(__file__))+'/'
def load(files):
    rows=[]
    for f,label in files:
        try:
            lines = open(S+f).readlines()
        except FileNotFoundError:
            continue
        for l in lines:
            d=json.loads(l)
            if 'size' in d:
                d['col']= 'fixed' if d['schedule']=='fixed' else label
                rows.append(d)
    return rows
def cell(v):
    if not v: return "–"
    m=statistics.mean(v)
    return f"{m:+.4f} ± {statistics.stdev(v):.4f} (n={len(v)})" if len(v)>1 else f"{m:+.4f} (n=1)"
cols=[('fixed','first release (fixed)'),('v1','auto v1: CoSENT 5e-5'),('v2','tried: CoSENT 3e-5'),('final','automatic (final rule)')]
def table(rows,sizes):
    print("| labels | "+" | ".join(c[1] for c in cols)+" |"); print("|--:|"+"--|"*len(cols))
    for s in sizes:
        out=[]
        for c,_ in cols:
            v=[r['gain'] for r in rows if r['size']==s and r['col']==c]
            if c=='final' and s<=300: v=[r['gain'] for r in rows if r['size']==s and r['col']=='v1']
            if c=='final' and s>3000: v=[r['gain'] for r in rows if r['size']==s and r['col']=='all']
            out.append(cell(v))
        print(f"| {s:,} | "+" | ".join(out)+" |")
main=load([('small1.jsonl','v1'),('small2.jsonl','v1'),('small4.jsonl','v1'),('small3.jsonl','all'),
           ('small5.jsonl','v2'),('small6.jsonl','final'),('small7.jsonl','final'),('small8.jsonl','final'),
           ('small9.jsonl','final'),('small10.jsonl','final'),('small11.jsonl','final')])
print("STSb train subsets, scored on STSb dev (base 0.8672)"); table(main,[50,100,200,400,800,1600,5749])
g=load([('genre1.jsonl','v1'),('genre2.jsonl','v2'),('genre3.jsonl','final'),('genre4.jsonl','final')])
print("\nSTSb forum genre: train subsets of main-forum train (450 pairs), scored on main-forums dev (375 pairs, base 0.8084)"); table(g,[100,400])
