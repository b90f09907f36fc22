package org.transfer4j.backbone.dataset;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A small RFC 4180 reader for manifests: comma-separated, fields optionally in double quotes (which may hold commas,
 * newlines and doubled quotes), unquoted fields trimmed, CRLF or LF line ends. Each record remembers the line it
 * starts on so errors can name it.
 */
final class Csv {
    record Record(int line, List<String> fields) {
    }

    private Csv() {
    }

    static List<Record> parse(String text, Path file) throws DatasetException {
        List<Record> out = new ArrayList<>();
        int i = 0;
        int line = 1;
        int n = text.length();
        if (n > 0 && text.charAt(0) == '\uFEFF') {
            i = 1; // a UTF-8 byte order mark, as spreadsheet programs write
        }
        while (i < n) {
            int recordLine = line;
            List<String> fields = new ArrayList<>();
            StringBuilder field = new StringBuilder();
            boolean endOfRecord = false;
            while (!endOfRecord) {
                // one field
                field.setLength(0);
                int start = i;
                while (i < n && (text.charAt(i) == ' ' || text.charAt(i) == '\t')) {
                    i++;
                }
                if (i < n && text.charAt(i) == '"') {
                    i++;
                    while (true) {
                        if (i >= n) {
                            throw new DatasetException(DatasetException.Reason.BAD_MANIFEST, "manifest " + file
                                    + " line " + recordLine + ": a quoted field is not closed");
                        }
                        char c = text.charAt(i++);
                        if (c == '"') {
                            if (i < n && text.charAt(i) == '"') {
                                field.append('"');
                                i++;
                            } else {
                                break;
                            }
                        } else {
                            if (c == '\n') {
                                line++;
                            }
                            field.append(c);
                        }
                    }
                    while (i < n && (text.charAt(i) == ' ' || text.charAt(i) == '\t')) {
                        i++;
                    }
                    if (i < n && text.charAt(i) != ',' && text.charAt(i) != '\n' && text.charAt(i) != '\r') {
                        throw new DatasetException(DatasetException.Reason.BAD_MANIFEST, "manifest " + file
                                + " line " + line + ": unexpected text after a closing quote");
                    }
                    fields.add(field.toString());
                } else {
                    i = start;
                    while (i < n && text.charAt(i) != ',' && text.charAt(i) != '\n' && text.charAt(i) != '\r') {
                        field.append(text.charAt(i++));
                    }
                    fields.add(field.toString().trim());
                }
                if (i >= n) {
                    endOfRecord = true;
                } else if (text.charAt(i) == ',') {
                    i++;
                } else {
                    if (text.charAt(i) == '\r') {
                        i++;
                    }
                    if (i < n && text.charAt(i) == '\n') {
                        i++;
                    }
                    line++;
                    endOfRecord = true;
                }
            }
            out.add(new Record(recordLine, fields));
        }
        return out;
    }
}
