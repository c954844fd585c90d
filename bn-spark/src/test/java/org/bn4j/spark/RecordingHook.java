package org.bn4j.spark;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.spark.api.TrainingHook;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records, on the Spark workers, every minibatch a worker trained on and the worker's parameters after that step
 * (after {@code fit} returns, so after the whole optimizer step). With a {@code local[N]} master the workers run in
 * this JVM, so the records land in a static list; Spark ships the hook itself by Java serialization.
 */
final class RecordingHook implements TrainingHook {
    /** One training step of one worker: which worker (in order of first appearance), its batch, its parameters after. */
    record Step(int worker, DataSet batch, INDArray paramsAfter) {
    }

    private static final List<Step> STEPS = new ArrayList<>();
    private static final Map<Model, Integer> WORKERS = new IdentityHashMap<>();

    static synchronized void clear() {
        STEPS.clear();
        WORKERS.clear();
    }

    static synchronized List<Step> steps() {
        return new ArrayList<>(STEPS);
    }

    /** The steps of each worker, in order; workers in order of their first step. */
    static synchronized List<List<Step>> byWorker() {
        List<List<Step>> out = new ArrayList<>();
        for (Step s : STEPS) {
            while (out.size() <= s.worker()) out.add(new ArrayList<>());
            out.get(s.worker()).add(s);
        }
        return out;
    }

    private static synchronized void record(INDArray features, INDArray labels, Model model) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            int worker = WORKERS.computeIfAbsent(model, m -> WORKERS.size());
            STEPS.add(new Step(worker, new DataSet(features.dup(), labels.dup()), model.params().dup()));
        }
    }

    @Override
    public void preUpdate(org.nd4j.linalg.dataset.api.DataSet minibatch, Model model) {
    }

    @Override
    public void postUpdate(org.nd4j.linalg.dataset.api.DataSet minibatch, Model model) {
        record(minibatch.getFeatures(), minibatch.getLabels(), model);
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
    }

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {
        record(minibatch.getFeatures(0), minibatch.getLabels(0), model);
    }
}
