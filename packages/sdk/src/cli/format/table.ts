// Plain aligned columns (kubectl-style): easy to read and to cut with awk.

const GAP = '   ';

/** Renders a header and rows as left-aligned columns separated by three spaces, one trailing newline. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join(GAP)
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
