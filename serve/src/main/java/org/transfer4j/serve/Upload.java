package org.transfer4j.serve;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartConfig;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Attributes;

/**
 * The image bytes of a predict request: the raw body, or the file of a {@code multipart/form-data} form (the field
 * named {@code image} or {@code file}, else the first part with a file name, else the first part). Bodies are read
 * whole into memory, never to disk, and never beyond the server's limit.
 *
 * @param bytes the encoded image
 * @param name  how error messages name it: the form's file name, or "upload"
 */
record Upload(byte[] bytes, String name) {
    private static final String DEFAULT_NAME = "upload";

    static Upload read(Request request, long maxBytes) throws ApiError {
        long declared = request.getLength();
        if (declared > maxBytes) {
            throw tooLarge(declared + " bytes", maxBytes);
        }
        byte[] body;
        try {
            body = readAtMost(Content.Source.asInputStream(request), maxBytes);
        } catch (IOException e) {
            // The client stalled past the idle timeout (or past a second while the server shuts down) or left.
            throw new ApiError(408, "the request body did not arrive: " + rootMessage(e), "BODY_NOT_RECEIVED");
        }
        String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        Upload upload = type != null && type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")
                ? fromForm(body, type, maxBytes) : new Upload(body, DEFAULT_NAME);
        if (upload.bytes.length == 0) {
            throw new ApiError(400, "the request holds no image: send the image file as the body (curl "
                    + "--data-binary @photo.jpg) or as the form field 'image' (curl -F image=@photo.jpg)");
        }
        return upload;
    }

    static ApiError tooLarge(String size, long maxBytes) {
        return new ApiError(413, "the request body is " + size + "; the limit is " + maxBytes + " bytes "
                + "(--max-body-mb)");
    }

    private static byte[] readAtMost(InputStream in, long maxBytes) throws IOException, ApiError {
        byte[] body = in.readNBytes((int) maxBytes + 1);
        if (body.length > maxBytes) {
            throw tooLarge("over " + maxBytes + " bytes", maxBytes);
        }
        return body;
    }

    private static Upload fromForm(byte[] body, String contentType, long maxBytes) throws ApiError {
        MultiPartConfig config = new MultiPartConfig.Builder().maxParts(32).maxSize(maxBytes).maxPartSize(maxBytes)
                .maxMemoryPartSize(maxBytes).build();
        try (MultiPartFormData.Parts parts = MultiPartFormData.getParts(Content.Source.from(ByteBuffer.wrap(body)),
                new Attributes.Mapped(), contentType, config)) {
            MultiPart.Part part = parts.getFirst("image");
            if (part == null) {
                part = parts.getFirst("file");
            }
            for (int i = 0; part == null && i < parts.size(); i++) {
                if (parts.get(i).getFileName() != null) {
                    part = parts.get(i);
                }
            }
            if (part == null && parts.size() > 0) {
                part = parts.get(0);
            }
            if (part == null) {
                throw new ApiError(400, "the multipart form has no parts; send the image as the field 'image'");
            }
            ByteBuffer content = Content.Source.asByteBuffer(part.getContentSource());
            byte[] bytes = new byte[content.remaining()];
            content.get(bytes);
            String name = part.getFileName() != null && !part.getFileName().isBlank() ? part.getFileName()
                    : DEFAULT_NAME;
            return new Upload(bytes, name);
        } catch (ApiError e) {
            throw e;
        } catch (Exception e) {
            throw new ApiError(400, "the multipart form cannot be read: " + rootMessage(e)
                    + "; send the image as the field 'image' (curl -F image=@photo.jpg)");
        }
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
