"""The README's GAN table from finished runs' summary.json files.

  python -m gans.tools.report runs/gan_mlp runs/cgan_mlp runs/dcgan ...

One Markdown row per run: generator updates, time (the training steps of all resumed
parts plus the final scoring; in-training FIDs and pictures are left out), FID and KID of G
and of its EMA on eval.final_samples against the test set, the best training-time FID's
step and its final-size FID, class accuracy for conditional models, classes present among
samples.
"""
import json
import os
import sys

HEADER = ('| run | G updates | time | FID | FID EMA | KID | KID EMA | best FID (step) '
          '| class acc. (EMA) | classes (largest share) |\n'
          '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')


def row(workdir: str) -> str:
  with open(os.path.join(workdir, 'summary.json')) as f:
    s = json.load(f)
  seconds = s.get('total_train_seconds', s['train_seconds']) + s.get('eval_seconds', 0)
  minutes, seconds = divmod(round(seconds), 60)
  acc = (f"{s['class_accuracy']:.3f} ({s['class_accuracy_ema']:.3f})"
         if 'class_accuracy' in s else '–')
  best = f"{s['fid_best']:.1f} ({s['best_step']})" if 'fid_best' in s else '–'
  return (f"| `{os.path.basename(os.path.normpath(workdir))}` | {s['generator_updates']:,} "
          f"| {minutes} min {seconds:02d} s | {s['fid']:.1f} "
          f"| {s.get('fid_ema', float('nan')):.1f} "
          f"| {s['kid']:.2f} | {s.get('kid_ema', float('nan')):.2f} | {best} | {acc} "
          f"| {s['classes_present']} ({s['largest_class_fraction']:.2f}) |")


def main(workdirs):
  print(HEADER)
  for w in workdirs:
    print(row(w))


if __name__ == '__main__':
  main(sys.argv[1:])
