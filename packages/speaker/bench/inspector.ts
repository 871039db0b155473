/**
 * Allocation sampling of a Node process through its inspector (for memory-bgp.ts's
 * BENCH_PROFILE): V8's sampling heap profiler with the objects collected since included, so the
 * profile shows everything allocated in the window, garbage too, which is what drives the peak.
 */
import { writeFileSync } from 'node:fs';
import { type Launched, openInspector } from '@portico/testbed/measure';

export async function startInspector(p: Launched) {
  const inspector = await openInspector(p);
  return {
    startSampling: async () => {
      await inspector.call('HeapProfiler.startSampling', {
        samplingInterval: 32_768,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    },
    stopSampling: async (file: string) => {
      const { profile } = await inspector.call('HeapProfiler.stopSampling');
      writeFileSync(file, JSON.stringify(profile));
    },
    close: () => inspector.close(),
  };
}
