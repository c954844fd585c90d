package org.bn4j.exec;

import org.bn4j.exec.Program.Op;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The elementwise operations of {@link Program} on one value, in double precision: the definition the vector loops
 * ({@link VectorOps}) follow, used for small values, loop tails and constant folding. A result of a float32 value is
 * rounded to float32 ({@link #round}), so that each op gives what ND4J's float32 kernel gives (double precision holds
 * the exact result of +, −, ×, ÷ and √ of float32 operands before that rounding).
 */
final class ScalarOps {
    private ScalarOps() {
    }

    static double apply(Op op, double a, double b, double param) {
        return switch (op) {
            case IDENTITY -> a;
            case NEG -> -a;
            case ABS -> Math.abs(a);
            case SQRT -> Math.sqrt(a);
            case RSQRT -> 1.0 / Math.sqrt(a);
            case SIGN -> Math.signum(a);
            case LOG -> Math.log(a);
            case EXP -> Math.exp(a);
            case SQUARE -> a * a;
            case RECIPROCAL -> 1.0 / a;
            case STEP -> a > param ? 1.0 : 0.0;
            case POW -> Math.pow(a, param);
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
            case GT -> a > b ? 1.0 : 0.0;
            case GTE -> a >= b ? 1.0 : 0.0;
            case LT -> a < b ? 1.0 : 0.0;
            case LTE -> a <= b ? 1.0 : 0.0;
            case EQ -> a == b ? 1.0 : 0.0;
            case NEQ -> a != b ? 1.0 : 0.0;
        };
    }

    /** The value as the data type holds it: float32 rounded, others unchanged. */
    static double round(double v, DataType dt) {
        return dt == DataType.FLOAT ? (double) (float) v : v;
    }
}
