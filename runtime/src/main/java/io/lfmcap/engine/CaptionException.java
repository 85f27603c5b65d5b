package io.lfmcap.engine;

/**
 * A request that cannot be captioned, typed by {@link ErrorClass} and naming the input it concerns
 * (request id, file name). A bad input never fails anything but its own request.
 */
public class CaptionException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorClass errorClass;
    private final String input;

    public CaptionException(ErrorClass errorClass, String input, String message) {
        this(errorClass, input, message, null);
    }

    public CaptionException(ErrorClass errorClass, String input, String message, Throwable cause) {
        super(input == null ? message : input + ": " + message, cause);
        this.errorClass = errorClass;
        this.input = input;
    }

    public ErrorClass errorClass() { return errorClass; }

    /** The input the error is about (an id or a file name), or null. */
    public String input() { return input; }
}
