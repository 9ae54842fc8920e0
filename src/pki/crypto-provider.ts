import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// Native WebCrypto: @peculiar/webcrypto measured 7x slower and its keys do not mix with native ones.
export const subtle = webcrypto.subtle as SubtleCrypto;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
