export interface PemBlock {
  label: string;
  der: Uint8Array;
}

export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function pemEncodeAll(label: string, ders: readonly Uint8Array[]): string {
  return ders.map((der) => pemEncode(label, der)).join('');
}

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function pemDecodeAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(blockPattern)) {
    const body = (match[2] ?? '').replace(/\s+/g, '');
    blocks.push({ label: match[1] ?? '', der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return blocks;
}

export function pemDecodeOne(text: string, label: string): Uint8Array {
  const blocks = pemDecodeAll(text).filter((b) => b.label === label);
  if (blocks.length !== 1 || !blocks[0]) {
    throw new Error(`expected exactly one PEM block labelled "${label}", found ${blocks.length}`);
  }
  return blocks[0].der;
}

export function concatDer(ders: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(ders.map((d) => Buffer.from(d))));
}

/** A copy backed by a plain ArrayBuffer, which WebCrypto and the ASN.1 parsers require in their types. */
export function ownBytes(data: Uint8Array | ArrayBuffer): Uint8Array<ArrayBuffer> {
  return data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data);
}
