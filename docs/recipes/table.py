import json, glob, statistics as st, collections
rows = collections.defaultdict(list)
for f in sorted(glob.glob('runs/*/s*/results.json')):
    exp = f.split('/')[1]
    for line in open(f):
        r = json.loads(line)
        key = exp if r['recipe'] != 'noisy-student' else f"{exp} iteration {r['iteration']}"
        rows[key].append((r['val_acc'], r['test_acc'], r['seconds'], r))
def ms(v): return f"{100*st.mean(v):.2f} ± {100*st.stdev(v):.2f}" if len(v) > 1 else f"{100*v[0]:.2f}"
print("| experiment | runs | validation acc. (%) | test acc. (%) | wall time per run (s) |")
print("|---|---|---|---|---|")
for k, v in rows.items():
    print(f"| {k} | {len(v)} | {ms([x[0] for x in v])} | {ms([x[1] for x in v])} | {st.mean([x[2] for x in v]):.0f} |")
