-- One database per engine on the one server: MLflow's tracking store, Prefect's, the Optuna studies.
CREATE DATABASE mlflow OWNER mastery;
CREATE DATABASE prefect OWNER mastery;
CREATE DATABASE optuna OWNER mastery;
