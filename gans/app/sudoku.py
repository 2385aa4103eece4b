"""Sudoku puzzles with a unique solution, seeded (report 004's application, `python -m gans.app`).

The standard generator: a random full grid by randomized backtracking, then cells emptied in
symmetric pairs, in random order, each pair kept empty only while the puzzle still has one
solution; the difficulty sets how many givens it stops at (hard stops where no pair can go).

  puzzle = sudoku.generate(seed=3, difficulty='medium')
  puzzle.givens     # 81 ints, row-major, 0 = empty
  puzzle.solution   # 81 ints in 1..9
"""
import dataclasses
import random

# givens left: the usual bands of easy / medium / hard puzzles
DIFFICULTIES = {'easy': 40, 'medium': 32, 'hard': 24}
_ALL = 0x3FE  # bits 1..9


@dataclasses.dataclass(frozen=True)
class Puzzle:
  givens: tuple[int, ...]
  solution: tuple[int, ...]
  seed: int
  difficulty: str


def _peers(cell: int) -> list[int]:
  r, c = divmod(cell, 9)
  box = [9 * (3 * (r // 3) + i) + 3 * (c // 3) + j for i in range(3) for j in range(3)]
  return sorted(set([9 * r + k for k in range(9)] + [9 * k + c for k in range(9)] + box)
                - {cell})


PEERS = tuple(tuple(_peers(cell)) for cell in range(81))


def candidates(grid, cell: int) -> int:
  """The digits (as bits 1..9) that no peer of `cell` holds."""
  used = 0
  for p in PEERS[cell]:
    used |= 1 << grid[p]
  return _ALL & ~used


def solve(grid, limit: int = 2, rng: random.Random | None = None) -> tuple[int, list | None]:
  """(number of solutions found, stopping at `limit`; the first one). Backtracking on the
  empty cell with the fewest candidates; `rng` shuffles the digits tried (random grids)."""
  grid = list(grid)
  first = None
  count = 0

  def search():
    nonlocal first, count
    best, best_bits, best_n = -1, 0, 10
    for cell in range(81):
      if grid[cell] == 0:
        bits = candidates(grid, cell)
        n = bin(bits).count('1')
        if n < best_n:
          best, best_bits, best_n = cell, bits, n
          if n <= 1:
            break
    if best < 0:
      count += 1
      if first is None:
        first = list(grid)
      return count >= limit
    digits = [d for d in range(1, 10) if best_bits >> d & 1]
    if rng is not None:
      rng.shuffle(digits)
    for d in digits:
      grid[best] = d
      if search():
        return True
    grid[best] = 0
    return False

  for cell in range(81):
    if grid[cell] and (candidates(grid, cell) >> grid[cell] & 1) == 0:
      return 0, None  # two equal digits among peers
  search()
  return count, first


def generate(seed: int, difficulty: str = 'medium') -> Puzzle:
  if difficulty not in DIFFICULTIES:
    raise ValueError(f'difficulty = {difficulty!r}: expected one of {", ".join(DIFFICULTIES)}.')
  rng = random.Random(seed)
  _, solution = solve([0] * 81, limit=1, rng=rng)
  grid = list(solution)
  target = DIFFICULTIES[difficulty]
  cells = list(range(41))  # a cell and its mirror through the centre, 80 - cell
  rng.shuffle(cells)
  givens = 81
  for cell in cells:
    pair = {cell, 80 - cell}
    if givens - len(pair) < target:
      continue
    kept = {c: grid[c] for c in pair}
    for c in pair:
      grid[c] = 0
    if solve(grid, limit=2)[0] == 1:
      givens -= len(pair)
    else:
      for c, v in kept.items():
        grid[c] = v
  return Puzzle(tuple(grid), tuple(solution), seed, difficulty)
