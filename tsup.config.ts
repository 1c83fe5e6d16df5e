import { defineConfig } from 'tsup';

// Library entries (the package, `ckpt/ledger`, the trainer SDK `ckpt/trainer` and `ckpt/trainer/tfjs`) get type declarations; programs (the CLI and the trainers) do not need them.
export default defineConfig([
  {
    entry: { 'src/index': 'src/index.ts', 'ledger/index': 'ledger/index.ts', 'src/trainer': 'src/trainer.ts', 'src/sdk/tfjs': 'src/sdk/tfjs.ts' },
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    outDir: 'dist',
  },
  {
    entry: {
      cli: 'src/cli/main.ts',
      'trainers/mnist-mlp': 'trainers/mnist-mlp.ts',
      'trainers/mnist-cnn': 'trainers/mnist-cnn.ts',
    },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    target: 'node20',
    outDir: 'dist',
  },
]);
