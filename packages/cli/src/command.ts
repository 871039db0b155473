/** A subcommand: gets the arguments after its name, resolves to the process exit code. */
export interface Command {
  run(args: string[]): Promise<number>;
}
