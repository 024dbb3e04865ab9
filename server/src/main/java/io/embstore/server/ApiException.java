package io.embstore.server;

/**
 * A request the server refuses: its HTTP status, the error kind of the JSON body (docs/SERVER.md, "Errors") and a
 * message naming the problem. Thrown anywhere while a request is handled; {@link ApiHandler} turns it into the answer.
 */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String kind;

    ApiException(int status, String kind, String message) {
        super(message, null, false, false);
        this.status = status;
        this.kind = kind;
    }

    int status() {
        return status;
    }

    String kind() {
        return kind;
    }

    static ApiException badRequest(String message) {
        return new ApiException(400, "bad_request", message);
    }

    static ApiException notFound(String message) {
        return new ApiException(404, "not_found", message);
    }

    static ApiException tooLarge(String message) {
        return new ApiException(413, "payload_too_large", message);
    }
}
