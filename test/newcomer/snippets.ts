/** Code blocks that name their file (```ts title="main.ts"), read out of a Markdown page. */

export interface Snippet {
  title: string;
  code: string;
}

/** Every fenced block with a `title="…"` in its info string, in page order. */
export function titledSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  for (const match of markdown.matchAll(/^```\w+ title="([^"]+)"\n([\s\S]*?)^```$/gm)) {
    snippets.push({ title: match[1]!, code: match[2]! });
  }
  return snippets;
}

/** JSON with comments and trailing commas, as tsconfig.json allows. */
export function jsoncParse(text: string): unknown {
  const withoutComments = text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_, string: string | undefined) => string ?? '');
  return JSON.parse(withoutComments.replace(/,(\s*[}\]])/g, '$1'));
}
