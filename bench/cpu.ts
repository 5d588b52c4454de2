// CPU time of server processes, for the per-request and per-byte figures of issue 22.

/** CPU seconds of the processes so far: every thread's /proc/<pid>/task/<tid>/schedstat (ns on CPU). */
export async function processCpuSeconds(pids: number[]): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  let ns = 0;
  for (const pid of pids) {
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    for (const tid of tasks) {
      const stat = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '0');
      ns += Number(stat.split(' ')[0] ?? 0);
    }
  }
  return ns / 1e9;
}
