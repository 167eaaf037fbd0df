/** One schema failure as ajv reports it (with `verbose`, which adds the failing schema). */
export interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
  parentSchema?: { errorMessage?: unknown; description?: unknown };
}

/**
 * A 400 reply that says what is wrong and where, in words: a rule's own `errorMessage` where the schema has one,
 * never a raw regular expression, and a missing body named as such.
 */
export function validationReply(issues: ValidationIssue[], context: string): { error: string; details: string[] } {
  const details = issues.map((i) => {
    const where = `${context}${i.instancePath.replaceAll('/', '.')}`;
    const own = i.parentSchema?.errorMessage;
    if (typeof own === 'string') return `${where}: ${own}`;
    if (i.instancePath === '' && i.keyword === 'type' && context === 'body')
      return 'body: a JSON object is needed (Content-Type: application/json); see /docs for its fields';
    if (i.keyword === 'pattern') return `${where}: not in the expected form`;
    if (i.keyword === 'additionalProperties')
      return `${where}: unknown field "${String(i.params?.additionalProperty)}"`;
    return `${where}: ${i.message ?? 'invalid'}`;
  });
  return { error: `invalid request: ${details.join('; ')}`, details };
}
