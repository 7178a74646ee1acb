import { DomainError, type FieldProblem } from '../../domain-error';

/** One problem per field, in the order the fields were first found bad; several messages for a field are joined. */
export function problemPerField(problems: readonly FieldProblem[]): FieldProblem[] {
  const byField = new Map<string, string[]>();
  for (const { field, message } of problems) {
    const messages = byField.get(field) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field, messages);
  }
  return [...byField].map(([field, messages]) => ({ field, message: messages.join('; ') }));
}

/**
 * BAD_USER_INPUT for a spec: each bad field once in `extensions.fields`. The message is that
 * field's problem when there is one, else names the fields only (clients print the fields'
 * messages from `extensions.fields`, so they are not repeated in the message).
 */
export function invalidSpec(problems: readonly FieldProblem[]): DomainError {
  const fields = problemPerField(problems);
  const message =
    fields.length === 1
      ? `${fields[0].field}: ${fields[0].message}`
      : `${fields.length} fields of the spec are invalid: ${fields.map(({ field }) => field).join(', ')}`;
  return new DomainError('BAD_USER_INPUT', message, { fields });
}
