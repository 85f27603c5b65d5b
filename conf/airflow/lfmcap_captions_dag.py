"""
lfmcap daily captions: one ``spark-submit`` of ``io.lfmcap.jobs.CaptionJob`` per day of images.

Each run captions the images that landed under ``{input_root}/{ds}/`` and writes one Parquet row per
image (failed images included) to ``{output_root}/date={ds}/``. The job runs with ``--resume``: a retry
reads what the failed attempt already committed, captions only the images without an ``ok`` row and
replaces the attempt's error rows, so every image keeps exactly one row however often the task runs.

Deploy
  * ``lfmcap-jobs.jar`` (``mvn -q -pl jobs -am package -DskipTests``) and ``conf/`` at ``LFMCAP_HOME`` on the
    Airflow workers (they run ``spark-submit``);
  * apache-airflow-providers-apache-spark, and a Spark 3.5 client (``spark-submit`` on PATH, Java 17);
  * an Airflow connection ``spark_lfmcap`` (type Spark) naming the cluster: host ``yarn``, extra
    ``{"deploy-mode": "cluster"}`` for the YARN template below (or ``spark://master:7077`` with
    ``spark-defaults.standalone.conf``, ``k8s://https://api:6443`` with ``spark-defaults.k8s.conf``);
  * the DAG's params (paths and model) set for your data; a manual run can override them
    ("Trigger DAG w/ config").

Targets Airflow 2.4 to 2.10 (``schedule=``, task SLAs; Airflow 3 removed SLAs: use a deadline alert there).
``python3 conf/airflow/dag_spec.py --ds 2026-11-27 --command`` prints the spark-submit command a run makes.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

# Where lfmcap-jobs.jar and lfmcap's conf/ live on the Airflow workers.
LFMCAP_HOME = "/opt/lfmcap"

default_args = {
    "owner": "data-eng",
    "depends_on_past": False,
    # A retry resumes (--resume): it never duplicates rows and only captions what is missing.
    "retries": 3,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(hours=1),
    # One attempt captions a day of images in well under 4 hours on the template's 4 GPU executors.
    "execution_timeout": timedelta(hours=4),
    # Captions for a day are expected within 8 hours of the day's end (retries included).
    "sla": timedelta(hours=8),
    "email_on_failure": True,
    "email_on_retry": False,
}

with DAG(
    dag_id="lfmcap_daily_captions",
    description="Caption the day's images with LFM2.5-VL on Spark (lfmcap CaptionJob), one Parquet row per image",
    doc_md=__doc__,
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # One writer per output at a time (--resume expects it); days are separate outputs.
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=20),
    default_args=default_args,
    params={
        "input_root": "s3a://photos/incoming",
        "output_root": "s3a://photos-captions/lfm2.5-vl-450m",
        "model": "hdfs:///models/lfm2.5-vl-450m.pte",
        "max_new_tokens": "96",
        "executors": "4",
    },
    tags=["lfmcap", "captions", "spark", "gpu"],
) as dag:
    caption_images = SparkSubmitOperator(
        task_id="caption_images",
        conn_id="spark_lfmcap",
        application=f"{LFMCAP_HOME}/lfmcap-jobs.jar",
        java_class="io.lfmcap.jobs.CaptionJob",
        name="lfmcap-captions-{{ ds }}",
        # The YARN GPU template (conf/spark-defaults.yarn.conf); its executors find their GPU with the
        # discovery script shipped here (--files puts it in each container's working folder).
        properties_file=f"{LFMCAP_HOME}/conf/spark-defaults.yarn.conf",
        files=f"{LFMCAP_HOME}/conf/getGpusResources.sh",
        conf={
            "spark.executor.instances": "{{ params.executors }}",
            # Find the run's application in YARN by its date.
            "spark.yarn.tags": "lfmcap,captions,{{ ds }}",
        },
        application_args=[
            "--input", "{{ params.input_root }}/{{ ds }}/",
            "--output", "{{ params.output_root }}/date={{ ds }}/",
            "--model", "{{ params.model }}",
            "--resume",
            "--max-new-tokens", "{{ params.max_new_tokens }}",
            "--recommended-sampling",
            "--max-batch", "64",
            "--progress-interval", "60",
        ],
        verbose=False,
    )
