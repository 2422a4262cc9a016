/** A client error as the AWS JSON protocols carry it: the SDK raises `code` as the exception's name. */
export function validation(message: string, code = 'ValidationError'): Error {
  return Object.assign(new Error(message), { code });
}
