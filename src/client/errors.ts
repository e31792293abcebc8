// A connection or publish failure with the text and exit status mosquitto_pub/sub would produce.
// The CLI turns it into a CliError; library code only throws it.

export class ClientError extends Error {
  constructor(
    /** The stderr text (possibly several lines, no trailing newline); '' with --quiet. */
    message: string,
    /** mosquitto's exit status: 1, a MOSQ_ERR_* value, or the CONNACK code. */
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}
