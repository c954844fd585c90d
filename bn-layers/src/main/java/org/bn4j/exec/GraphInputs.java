package org.bn4j.exec;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.ArrayList;
import java.util.List;

/**
 * A SameDiff graph under construction and its placeholders of one data type, in the order they were declared: what
 * {@link CompiledGraph} takes as the graph's inputs. Shared by the normalization core and the weight-norm graphs.
 */
public final class GraphInputs {
    private final SameDiff sd = SameDiff.create();
    private final List<String> names = new ArrayList<>();
    private final DataType dataType;

    public GraphInputs(DataType dataType) {
        this.dataType = dataType;
    }

    public SameDiff sd() {
        return sd;
    }

    /** The placeholder names, in declaration order. */
    public List<String> names() {
        return names;
    }

    /** Declares a placeholder of the graph's data type. */
    public SDVariable ph(String name, long[] shape) {
        names.add(name);
        return sd.placeHolder(name, dataType, shape);
    }
}
