package org.transfer4j.head.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.transfer4j.head.train.EpochStats;

/** The report's two charts, rendered to PNG bytes with JFreeChart. */
public final class Charts {
    static {
        // Charts render off-screen; without this a server JVM with no display would fail to load AWT.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private Charts() {
    }

    /** Loss: reds; accuracy: blues, so the two panels cannot be confused; validation dashed, training solid. */
    private static final Color LOSS = new Color(0xc6, 0x28, 0x28);
    private static final Color ACCURACY = new Color(0x15, 0x65, 0xc0);

    /** Loss (top) and accuracy (bottom) per epoch, training and validation, with the best epoch marked. */
    public static byte[] curves(List<EpochStats> history, int bestEpoch) throws IOException {
        XYSeries trainLoss = new XYSeries("training loss");
        XYSeries valLoss = new XYSeries("validation loss");
        XYSeries trainAcc = new XYSeries("training accuracy");
        XYSeries valAcc = new XYSeries("validation accuracy");
        for (EpochStats s : history) {
            trainLoss.add(s.epoch(), s.trainLoss());
            trainAcc.add(s.epoch(), s.trainAccuracy());
            if (!Double.isNaN(s.valLoss())) {
                valLoss.add(s.epoch(), s.valLoss());
                valAcc.add(s.epoch(), s.valAccuracy());
            }
        }
        NumberAxis epochs = new NumberAxis("epoch");
        epochs.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(epochs);
        plot.setGap(12);
        plot.add(linePlot("loss", new XYSeriesCollection(trainLoss), valLoss, bestEpoch, LOSS), 1);
        XYPlot acc = linePlot("accuracy", new XYSeriesCollection(trainAcc), valAcc, bestEpoch, ACCURACY);
        plot.add(acc, 1);
        JFreeChart chart = new JFreeChart("Training curves", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return png(chart, 800, 600);
    }

    private static XYPlot linePlot(String yLabel, XYSeriesCollection data, XYSeries val, int bestEpoch,
                                   Color colour) {
        if (val.getItemCount() > 0) {
            data.addSeries(val);
        }
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        r.setSeriesPaint(0, colour);
        r.setSeriesPaint(1, colour.brighter());
        r.setSeriesStroke(0, new BasicStroke(2f));
        r.setSeriesStroke(1, new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f,
                new float[] {7f, 4f}, 0f));
        r.setSeriesShape(1, new java.awt.geom.Rectangle2D.Double(-3, -3, 6, 6));
        NumberAxis y = new NumberAxis(yLabel);
        y.setAutoRangeIncludesZero(false);
        XYPlot p = new XYPlot(data, null, y, r);
        p.setBackgroundPaint(Color.WHITE);
        p.setDomainGridlinePaint(Color.LIGHT_GRAY);
        p.setRangeGridlinePaint(Color.LIGHT_GRAY);
        if (bestEpoch > 0) {
            ValueMarker m = new ValueMarker(bestEpoch, Color.GRAY, new BasicStroke(1f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f));
            m.setLabel("best");
            m.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
            m.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.TOP_LEFT);
            m.setLabelOffset(new org.jfree.chart.ui.RectangleInsets(4, 4, 4, 4));
            p.addDomainMarker(m);
        }
        return p;
    }

    /**
     * Confusion matrix heat map: rows are true classes (top to bottom), columns predicted classes; colour is the
     * fraction of the true class (so rare classes are as visible as common ones), the number is the count.
     */
    public static byte[] confusion(List<String> classes, long[][] counts) throws IOException {
        int k = classes.size();
        double[][] xyz = new double[3][k * k];
        int i = 0;
        for (int t = 0; t < k; t++) {
            long rowSum = 0;
            for (long c : counts[t]) {
                rowSum += c;
            }
            for (int p = 0; p < k; p++) {
                xyz[0][i] = p;
                xyz[1][i] = k - 1 - t;
                xyz[2][i] = rowSum == 0 ? 0 : (double) counts[t][p] / rowSum;
                i++;
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("confusion", xyz);
        String[] names = classes.toArray(new String[0]);
        String[] reversed = new String[k];
        for (int t = 0; t < k; t++) {
            reversed[t] = names[k - 1 - t];
        }
        SymbolAxis x = new SymbolAxis("predicted class", names);
        SymbolAxis y = new SymbolAxis("true class", reversed);
        // Class names are the point of the chart: plain bands, large labels, turned only when many.
        Font labels = new Font(Font.SANS_SERIF, Font.PLAIN, k <= 10 ? 15 : k <= 25 ? 12 : 9);
        for (SymbolAxis a : new SymbolAxis[] {x, y}) {
            a.setGridBandsVisible(false);
            a.setTickLabelFont(labels);
            a.setLabelFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            a.setTickLabelPaint(Color.BLACK);
        }
        x.setVerticalTickLabels(k > 8);
        XYBlockRenderer r = new XYBlockRenderer();
        r.setPaintScale(new BluePaintScale());
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        if (k <= 40) {
            Font font = new Font(Font.SANS_SERIF, Font.BOLD, k <= 10 ? 14 : 9);
            for (int t = 0; t < k; t++) {
                long rowSum = 0;
                for (long c : counts[t]) {
                    rowSum += c;
                }
                for (int p = 0; p < k; p++) {
                    XYTextAnnotation a = new XYTextAnnotation(Long.toString(counts[t][p]), p, k - 1 - t);
                    a.setFont(font);
                    double frac = rowSum == 0 ? 0 : (double) counts[t][p] / rowSum;
                    a.setPaint(frac > 0.5 ? Color.WHITE : Color.BLACK);
                    plot.addAnnotation(a);
                }
            }
        }
        JFreeChart chart = new JFreeChart("Confusion matrix (validation)", JFreeChart.DEFAULT_TITLE_FONT, plot,
                false);
        chart.setBackgroundPaint(Color.WHITE);
        int side = Math.max(400, Math.min(1600, 120 + 60 * k));
        return png(chart, side + 100, side);
    }

    private static byte[] png(JFreeChart chart, int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(out, chart, w, h);
        return out.toByteArray();
    }

    /** White (0) to dark blue (1). */
    private static final class BluePaintScale implements PaintScale {
        @Override
        public double getLowerBound() {
            return 0;
        }

        @Override
        public double getUpperBound() {
            return 1;
        }

        @Override
        public Paint getPaint(double v) {
            double f = Math.max(0, Math.min(1, v));
            return new Color((int) (247 - f * (247 - 8)), (int) (251 - f * (251 - 48)), (int) (255 - f * (255 - 107)));
        }
    }
}
