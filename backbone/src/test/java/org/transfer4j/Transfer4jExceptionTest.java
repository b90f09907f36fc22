package org.transfer4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.transfer4j.backbone.cache.CacheException;
import org.transfer4j.backbone.image.ImageDecodeException;

class Transfer4jExceptionTest {
    @Test
    void theReasonIsTheSubclassEnumSeenFromEitherType() {
        IOException cause = new IOException("disk");
        CacheException c = new CacheException(CacheException.Reason.LOCKED, "busy", cause);
        CacheException.Reason typed = c.reason();
        Transfer4jException base = c;
        assertEquals(CacheException.Reason.LOCKED, typed);
        assertSame(typed, base.reason());
        assertEquals("busy", c.getMessage());
        assertSame(cause, c.getCause());

        ImageDecodeException d = new ImageDecodeException("a.png", ImageDecodeException.Reason.EMPTY, "no pixels");
        assertEquals(ImageDecodeException.Reason.EMPTY, d.reason());
        assertEquals("a.png: no pixels", d.getMessage());
        assertEquals("a.png", d.file());
        assertEquals(ModelException.Reason.RUNTIME, new ModelException(ModelException.Reason.RUNTIME, "x").reason());
    }
}
