// ANSI escape sequences (colours, cursor moves) and other control characters a run prints.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
// What is left of a colour code when the escape character itself was already dropped (the local provider drops control characters).
const SGR_REMNANT = /\[(?:\d{1,3}(?:;\d{1,3})*)?m/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** A log line as plain text: escape sequences (and colour-code remnants) dropped, other control characters shown as U+FFFD, tabs kept. */
export function safeLogText(line: string): string {
  return line.replace(ANSI, '').replace(SGR_REMNANT, '').replace(CONTROL, '\ufffd');
}
