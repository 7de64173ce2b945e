export declare const ROOT: string;
export interface Snippet {
  /** The file, relative to the repository root. */
  path: string;
  language: string;
  /** The block's text as the Markdown has it now. */
  content: string;
}
export interface Block {
  language: string;
  content: string;
  line: number;
}
export declare function documents(root?: string): Promise<string[]>;
export declare function languageOf(path: string): string;
export declare function snippetsOf(markdown: string): Snippet[];
export declare function unmarkedBlocks(markdown: string): Block[];
export declare function render(markdown: string, read: (path: string) => Promise<string>): Promise<string>;
export declare function readSnippet(path: string, root?: string): Promise<string>;
export declare function sync(options?: { write?: boolean; root?: string }): Promise<string[]>;
