package org.bn4j.runtime;

import org.bn4j.layers.AbstractNormLayer;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution3D;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * An input of any supported kind seen as a 4-D array {@code [N, P, C, Q]} with C the feature axis, and its mask as
 * {@code [N, P, 1, Q]}: the only place that knows about input ranks and data formats.
 *
 * <pre>
 *   [N, C]              → [N, 1, C, 1]         mask [N, 1] → [N, 1, 1, 1]
 *   NCHW [N,C,H,W]      → [N, 1, C, H·W]
 *   NHWC [N,H,W,C]      → [N, H·W, C, 1]
 *   NCDHW [N,C,D,H,W]   → [N, 1, C, D·H·W]
 *   NDHWC [N,D,H,W,C]   → [N, D·H·W, C, 1]
 *   NCW [N, C, T]       → [N, 1, C, T]         mask [N, T] → [N, 1, 1, T]
 *   NWC [N, T, C]       → [N, T, C, 1]         mask [N, T] → [N, T, 1, 1]
 * </pre>
 *
 * @param view the 4-D view shape
 * @param mask the 4-D mask shape, or null without a mask
 * @param rank the rank of the input
 */
public record InputView(long[] view, long[] mask, int rank) {

    /**
     * Validates the input (and mask) against the layer and returns its view; the message names the layer. Input of a
     * kind the layer refuses ({@link AbstractNormLayer#refusal}) is refused here as in the input type.
     */
    public static InputView of(INDArray input, INDArray mask, AbstractNormLayer conf, String layerId) {
        long[] s = input.shape();
        long c = conf.getNOut();
        long[] view;
        int featureAxis;
        String kind;
        InputType.Type type;
        switch (input.rank()) {
            case 2 -> {
                type = InputType.Type.FF;
                kind = "feed-forward [N, C]";
                featureAxis = 1;
                view = new long[]{s[0], 1, s[1], 1};
            }
            case 3 -> {
                type = InputType.Type.RNN;
                boolean ncw = conf.getRnnFormat() == RNNFormat.NCW;
                kind = "RNN " + (ncw ? "NCW [N, C, T]" : "NWC [N, T, C]");
                featureAxis = ncw ? 1 : 2;
                view = ncw ? new long[]{s[0], 1, s[1], s[2]} : new long[]{s[0], s[1], s[2], 1};
            }
            case 4 -> {
                type = InputType.Type.CNN;
                boolean nchw = conf.getCnn2dFormat() == CNN2DFormat.NCHW;
                kind = "CNN " + (nchw ? "NCHW [N, C, H, W]" : "NHWC [N, H, W, C]");
                featureAxis = nchw ? 1 : 3;
                view = nchw ? new long[]{s[0], 1, s[1], s[2] * s[3]} : new long[]{s[0], s[1] * s[2], s[3], 1};
            }
            case 5 -> {
                type = InputType.Type.CNN3D;
                boolean ncdhw = conf.getCnn3dFormat() == Convolution3D.DataFormat.NCDHW;
                kind = "3-D CNN " + (ncdhw ? "NCDHW [N, C, D, H, W]" : "NDHWC [N, D, H, W, C]");
                featureAxis = ncdhw ? 1 : 4;
                view = ncdhw ? new long[]{s[0], 1, s[1], s[2] * s[3] * s[4]} : new long[]{s[0], s[1] * s[2] * s[3], s[4], 1};
            }
            default -> throw new DL4JInvalidInputException(conf.describe() + " " + layerId
                    + ": expected input of rank 2 [N, C], 3 (RNN), 4 (CNN) or 5 (3-D CNN) with C = " + c + ", got rank "
                    + input.rank() + " shape " + Arrays.toString(s));
        }
        String refusal = conf.refusal(type);
        if (refusal != null) {
            throw new DL4JInvalidInputException(conf.describe() + " " + layerId + ": " + refusal + ", got shape "
                    + Arrays.toString(s));
        }
        if (s[featureAxis] != c) {
            throw new DL4JInvalidInputException(conf.describe() + " " + layerId + ": expected " + kind + " input with C = "
                    + c + " on axis " + featureAxis + ", got shape " + Arrays.toString(s) + otherFormat(s, c, featureAxis, conf));
        }
        // C = W: the channel check passes; the input type's sizes tell NCDHW activations apart (unless D = H = W = C)
        long[] t = conf.getNdhwcInputType();
        if (s.length == 5 && featureAxis == 4 && !conf.isCnn3dFormatSet() && t != null && t.length == 4
                && s[1] == t[3] && s[2] == t[0] && s[3] == t[1] && s[4] == t[2]
                && !(s[1] == t[0] && s[2] == t[1] && s[3] == t[2] && s[4] == t[3])) {
            throw new DL4JInvalidInputException(conf.describe() + " " + layerId + ": expected 3-D CNN NDHWC [N, D, H, W, C]"
                    + " input as the input type says, [N, " + t[0] + ", " + t[1] + ", " + t[2] + ", " + t[3] + "], got shape "
                    + Arrays.toString(s) + ", which is that type in NCDHW order" + NCDHW_HINT);
        }
        return new InputView(view, mask == null ? null : maskView(mask, input.rank(), view, conf, layerId), input.rank());
    }

    /**
     * When the input fits the other data format of its rank: which builder option says so, and for 3-D input whose
     * format came from the input type, DL4J's {@code Convolution3D} behaviour that causes it. Else "".
     */
    private static String otherFormat(long[] s, long c, int featureAxis, AbstractNormLayer conf) {
        int other = featureAxis == 1 ? s.length - 1 : 1;
        if (s.length < 3 || s[other] != c) return "";
        boolean first = other == 1;
        return switch (s.length) {
            case 3 -> hint(first ? "NCW" : "NWC", "rnnDataFormat(RNNFormat.", first ? "NWC" : "NCW", conf.isRnnFormatSet());
            case 4 -> hint(first ? "NCHW" : "NHWC", "dataFormat(CNN2DFormat.", first ? "NHWC" : "NCHW", conf.isCnn2dFormatSet());
            default -> first && !conf.isCnn3dFormatSet() ? "; it fits NCDHW" + NCDHW_HINT
                    : hint(first ? "NCDHW" : "NDHWC", "dataFormat3d(Convolution3D.DataFormat.", first ? "NDHWC" : "NCDHW",
                    conf.isCnn3dFormatSet());
        };
    }

    private static final String NCDHW_HINT = ": DL4J 1.0.0-M2.1's Convolution3D and Subsampling3DLayer in ConvolutionMode"
            + " Truncate or Strict report NDHWC as their output type whatever their data format, and this layer took NDHWC"
            + " from the input type; after an NCDHW Convolution3D set dataFormat3d(Convolution3D.DataFormat.NCDHW) on the"
            + " layer's builder";

    private static String hint(String fits, String option, String current, boolean set) {
        return "; it fits " + fits + ": if it is " + fits + ", set " + option + fits + ") on the layer's builder ("
                + current + (set ? " is set there now)" : " comes from the network's input type or the default)");
    }

    private static long[] maskView(INDArray mask, int rank, long[] view, AbstractNormLayer conf, String layerId) {
        long n = view[0];
        long[] m = mask.shape();
        if (rank == 2 && mask.rank() == 2 && m[0] == n && m[1] == 1) return new long[]{n, 1, 1, 1};
        if (rank == 3) {
            long t = view[1] == 1 ? view[3] : view[1];
            if (mask.rank() == 2 && m[0] == n && m[1] == t) {
                return view[1] == 1 ? new long[]{n, 1, 1, t} : new long[]{n, t, 1, 1};
            }
            throw new DL4JInvalidInputException(conf.describe() + " " + layerId + ": expected an RNN mask of shape ["
                    + n + ", " + t + "], got " + Arrays.toString(m));
        }
        throw new DL4JInvalidInputException(conf.describe() + " " + layerId + ": masks are supported as [N, T] for RNN input"
                + " and [N, 1] for feed-forward input; got mask " + Arrays.toString(m) + " for input of rank " + rank);
    }

    public long batch() {
        return view[0];
    }

    /** True for RNN input: one of the position axes is time. */
    public boolean sequence() {
        return rank == 3;
    }
}
