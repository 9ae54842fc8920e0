// Unicode Cc: the C0 controls (NUL, ESC, CR, LF ...), DEL and the C1 controls. None belongs in a
// name, a selector or an audience, and each can truncate a C string or rewrite a terminal line.
const controlCharacter = /\p{Cc}/u;

export function containsControlCharacter(text: string): boolean {
  return controlCharacter.test(text);
}
