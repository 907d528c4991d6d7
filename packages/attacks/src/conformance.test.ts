import { describeAttackConformance } from '@parry/core/testing';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';

// Every built-in attack passes the same conformance suite a third-party plugin runs.
describeAttackConformance(fgsm);
describeAttackConformance(fgsm, { options: { norm: 'l2' } });
describeAttackConformance(fgsm, { options: { randomStart: true } });
describeAttackConformance(pgd, { options: { steps: 5 } });
describeAttackConformance(pgd, { options: { steps: 5, norm: 'l2', restarts: 2 } });
