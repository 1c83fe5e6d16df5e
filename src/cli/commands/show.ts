import type { Command } from 'commander';
import { metricsLine, showCheckpoint } from '../../views/index.js';
import { defineCommand, type CommonOptions } from '../command.js';
import { formatBytes, formatTime } from '../format.js';
import { marksCell, statusCell } from '../read-helpers.js';
import { readView } from '../source.js';
import { plural } from '../../text.js';

/** `ckpt show <ref>`: manifest summary, metrics, lineage and weightsDigest of one checkpoint. */
export function registerShow(program: Command): void {
  defineCommand<CommonOptions>(
    program,
    {
      name: 'show <ref>',
      description: 'show one checkpoint: manifest, metrics, lineage, weightsDigest',
      examples: ['ckpt show best', 'ckpt show ckpt-3 --json'],
    },
    () => {},
    async ([ref], opts, out) => {
      const d = await readView(opts.dir, 'show', { ref }, (state) => showCheckpoint(state, ref));
      {
        if (out.json) return out.document(d);
        const lineage = [
          d.lineage.previous ? `after ${d.lineage.previous}` : 'first of its run',
          d.lineage.resumedFrom ? `run resumed from ${d.lineage.resumedFrom}` : '',
          d.lineage.importedFrom ? `imported from ${d.lineage.importedFrom.from} (was ${d.lineage.importedFrom.originalId})` : '',
        ].filter(Boolean).join('; ');
        out.fields([
          ['id', `${out.c.bold(d.id)} ${marksCell(out, d)}`],
          ['status', statusCell(out, d.status)],
          ['run', d.run],
          ['epoch / step', `${d.epoch} / ${d.step}`],
          ['metrics', metricsLine(d.metrics) || '-'],
          ['weightsDigest', d.weightsDigest],
          ['manifest', d.manifest],
          ['size', `${formatBytes(d.bytes.logical)} logical, ${formatBytes(d.bytes.new)} new, ${plural(d.blobs, 'blob')}`],
          ['objects', d.objects.join(', ') || '-'],
          ['trainer', `${d.trainer} (${d.backend})`],
          ['committed', `${formatTime(d.committedAt)} (seq ${d.committedSeq}${d.decisionSeq !== undefined ? `, decided at seq ${d.decisionSeq}` : ''})`],
          ['lineage', lineage],
          ['tags', d.tags.join(', ') || '-'],
          ...(d.description ? [['description', d.description] as [string, string]] : []),
          ...(d.labels.length ? [['labels', d.labels.join(', ')] as [string, string]] : []),
          ...(d.exports.length ? [['exports', d.exports.map((e) => `${e.format} → ${e.path}`).join('; ')] as [string, string]] : []),
          ...(d.backups.length ? [['backups', d.backups.map((b) => `${b.target} ${b.ok ? 'verified' : 'FAILED'}`).join('; ')] as [string, string]] : []),
        ]);
      }
    },
  );
}
