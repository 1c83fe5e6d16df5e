import { openMemoryLedger } from '../ledger/index.js';
import { ledgerContract } from './ledger.contract.js';

ledgerContract('memory', { open: (options) => openMemoryLedger(options), cleanup: async () => {} });
